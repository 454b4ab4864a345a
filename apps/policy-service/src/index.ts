/**
 * What other apps may use of the policy service (`@signoff/policy-service`): its feature module,
 * for a composition root that hosts it (apps/standalone), and its own root module.
 */
export { PolicyModule } from './policy.module';
export { PolicyServiceModule } from './app.module';
