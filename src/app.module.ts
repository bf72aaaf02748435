import { Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule, type Type } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  ArtifactAuthorizer,
  CONTENT_VALIDATION_INSPECTORS,
  StorageModule,
  loadStorageConfig,
  type ContentScanner,
  type StorageModuleOptions,
  type StorageProviderClass,
} from '@app/storage';
import { StorageCleanupModule } from '@app/storage/cleanup';
import { ArtifactsController } from './artifacts/artifacts.controller.js';
import { UploadsController } from './artifacts/uploads.controller.js';
import { ArtifactAuditController } from './audit/audit.controller.js';
import { JwtArtifactAuthorizer } from './auth/jwt-artifact.authorizer.js';
import { databaseOptions } from './database/database-options.js';
import { ServerHealthModule } from './health/health.module.js';
import { ServerMetricsModule } from './metrics/metrics.module.js';
import { ServerSecurityModule } from './security/security.module.js';
import type { ServerSettings } from './settings.js';
import { flatJsonBody } from './artifacts/json-body.js';

export interface AppModuleOptions {
  settings: ServerSettings;
  /** Storage options from code (tests); default: read from settings.storageConfig. */
  storage?: StorageModuleOptions;
  /** Content scanners run before an artifact becomes ready. */
  scanners?: Type<ContentScanner>[];
}

/**
 * The server registers no custom provider type. Saying so to loadStorageConfig lets it check the
 * file's types too, so that one error lists every problem of the file (SDKs are checked at boot).
 */
const PROVIDER_TYPES: StorageProviderClass[] = [];

/** The Boards artifacts API: the plugin used exactly as a host app would. */
@Module({})
export class AppModule implements NestModule {
  static register({ settings, storage, scanners = [] }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(databaseOptions(settings.databaseUrl)),
        JwtModule.register({ secret: settings.jwtSecret, signOptions: { algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } }),
        StorageModule.forRoot({
          ...(storage ?? loadStorageConfig(settings.storageConfig, process.env, { providerTypes: PROVIDER_TYPES })),
          providerTypes: PROVIDER_TYPES,
          // Settings: the `content_validation` block of the storage config.
          inspectors: CONTENT_VALIDATION_INSPECTORS,
          scanners,
        }),
        // The sweeper, on the `cleanup` block's schedule; `cleanup.enabled: false` turns it off here.
        StorageCleanupModule.forRoot(),
        ServerSecurityModule.register(settings),
        ServerHealthModule.register(settings),
        ServerMetricsModule.register(settings),
      ],
      controllers: [ArtifactsController, UploadsController, ArtifactAuditController],
      providers: [{ provide: ArtifactAuthorizer, useClass: JwtArtifactAuthorizer }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Only JSON routes get a body parser: upload routes stream the raw request.
    consumer.apply(flatJsonBody()).forRoutes({ path: 'uploads', method: RequestMethod.POST });
  }
}
