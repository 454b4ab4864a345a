import { DynamicModule, Module } from '@nestjs/common';
import { Clock, CoreModule } from '@signoff/core';
import { SigningKeySet } from '@signoff/keys';
import { AuthModule, ConfigDefaults, SignoffConfig } from '@signoff/runtime';
import { DispatchOptions, dispatchOptionsFromConfig } from './dispatch.options';
import { DispatchModule } from './dispatch.module';

/** What the dispatch service requires of its environment beyond a distributed service's: the signing key. */
export const DISPATCH_CONFIG_DEFAULTS: ConfigDefaults = { authRequired: true, signingKeyRequired: true };

/**
 * Notifications of different jobs of one partition the dispatch service handles at once: each
 * waits on the store and the broker (read, claim, publish, record), and concurrent ones share
 * multi-stream calls (CoalescingEventStore), so more in flight is more throughput, not more load.
 */
export const DISPATCH_KEY_CONCURRENCY = 64;

/**
 * The control plane's signing keys from the configuration (SIGNOFF_SIGNING_KEY_FILE and
 * SIGNOFF_SIGNING_KEY_ID); throws when there is none or it cannot be used.
 */
export function signingKeysFromConfig(config: SignoffConfig): SigningKeySet {
  if (config.signingKeyFile === null) throw new Error('SIGNOFF_SIGNING_KEY_FILE is required: the dispatcher signs every dispatch');
  return SigningKeySet.fromFile(config.signingKeyFile, config.signingKeyId);
}

/**
 * The dispatch service as its own process: publishes released jobs once, signed, replays stuck
 * ones, records authenticated results, serves the public keys.
 */
@Module({})
export class DispatchServiceModule {
  static forRoot(config: SignoffConfig, options: DispatchOptions & { readonly clock?: Clock; readonly signingKeys?: SigningKeySet } = {}): DynamicModule {
    const { clock, signingKeys, ...explicit } = options;
    // DISPATCH_MAX_ATTEMPTS and the test-only SIGNOFF_FAULT come from the configuration unless the caller sets them.
    const dispatch: DispatchOptions = { ...dispatchOptionsFromConfig(config), ...explicit };
    const signing = dispatch.signing ?? { keys: signingKeys ?? signingKeysFromConfig(config), grantTtlMs: config.grantTtlMs };
    return {
      module: DispatchServiceModule,
      imports: [
        CoreModule.forRoot({ config, serviceName: 'signoff-dispatch-service', ...(clock ? { clock } : {}) }),
        // Worker results carry a worker's JWT, verified as the HTTP API verifies tokens.
        AuthModule.forRoot({ jwtSecret: config.authJwtSecret, jwksUrl: config.authJwksUrl }),
        DispatchModule.forRoot({ ...dispatch, signing }),
      ],
    };
  }
}
