import { ConsoleLogger, Logger, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigurationError, StorageExceptionFilter, type ContentScanner, type StorageModuleOptions } from '@app/storage';
import { AppModule } from './app.module.js';
import { setPublicUrl } from './public-url.js';
import { corsOptions } from './security/cors.js';
import { LOG_LEVELS, type ServerSettings } from './settings.js';
import { answerClientErrorsAsJson } from './security/client-errors.js';

/**
 * Keys masked (at any depth) in structured log params. Storage log lines carry none of these;
 * this catches a future log call that passes a config or request object by mistake.
 */
export const REDACTED_LOG_KEYS = [
  'authorization',
  'cookie',
  'password',
  'secret',
  'token',
  'signature',
  'signing_secret',
  'signingSecret',
  'signing_keys',
  'jwtSecret',
  'secretAccessKey',
  'accessToken',
  'refreshToken',
  'apiKey',
  'private_key',
  'privateKey',
  'credentials',
];

/**
 * Nest's ConsoleLogger, except for one line: Nest logs an error that fails the boot (through its
 * ExceptionHandler, stack trace and all) before NestFactory rejects with it. A ConfigurationError
 * is the user's to fix, and main.ts reports it as one clean message: logging it here too would
 * bury that message under a trace of Nest's injector.
 */
class ServerLogger extends ConsoleLogger {
  override error(message: unknown, ...optionalParams: unknown[]): void {
    if (message instanceof ConfigurationError && optionalParams.at(-1) === 'ExceptionHandler') return;
    super.error(message, ...optionalParams);
  }
}

/** The server's logger: Nest's ConsoleLogger, as JSON lines when LOG_FORMAT=json. */
export function createLogger(settings: ServerSettings, levels?: CreateServerOptions['logger']): ConsoleLogger | false {
  if (levels === false) return false;
  const json = settings.logFormat === 'json';
  return new ServerLogger({
    logLevels: levels ?? LOG_LEVELS.slice(LOG_LEVELS.indexOf(settings.logLevel)),
    json,
    // JSON: structured fields (operation, provider, artifactId...) become top-level properties.
    flattenParams: json,
    redact: REDACTED_LOG_KEYS,
  });
}

export interface CreateServerOptions {
  settings: ServerSettings;
  storage?: StorageModuleOptions;
  /** Content scanners run before an artifact becomes ready (tests; a deployment adds its own in AppModule). */
  scanners?: Type<ContentScanner>[];
  logger?: false | ('log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal')[];
}

/** Builds the reference server (not yet listening): used by main.ts and by the e2e tests. */
export async function createServer({ settings, storage, scanners, logger }: CreateServerOptions): Promise<NestExpressApplication> {
  setPublicUrl(settings.publicUrl);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register({ settings, storage, scanners }), {
    // Upload routes stream the raw body; JSON parsing is added per route in AppModule.
    bodyParser: false,
    logger: createLogger(settings, logger),
    // A boot failure (e.g. an invalid storage.yaml) rejects with its error instead of aborting the
    // process; ServerLogger leaves a ConfigurationError for the caller to report.
    abortOnError: false,
  });
  app.useGlobalFilters(new StorageExceptionFilter());
  app.disable('x-powered-by');
  if (settings.trustProxy !== undefined) app.set('trust proxy', settings.trustProxy);
  if (settings.corsOrigins.length) {
    app.enableCors(corsOptions(settings.corsOrigins));
  }
  app.enableShutdownHooks();
  answerClientErrorsAsJson(app.getHttpServer());
  return app;
}

export function logStartup(app: NestExpressApplication, settings: ServerSettings, devToken?: string): void {
  const logger = new Logger('BoardsArtifactsApi');
  logger.log(`Listening on port ${settings.port} (storage config ${settings.storageConfig})`);
  if (devToken) {
    logger.warn('BOARDS_JWT_SECRET is not set: a random secret is in use. Development token (tenant "default", every board):');
    // eslint-disable-next-line no-console
    console.log(`\n  Authorization: Bearer ${devToken}\n`);
  }
}
