/** What other apps may use of the standalone (`@signoff/standalone`): its root module. */
export { StandaloneServiceModule } from './app.module';
