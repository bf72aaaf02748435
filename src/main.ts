import './utc.js';
import 'reflect-metadata';
import { JwtService } from '@nestjs/jwt';
import { ConfigurationError } from '@app/storage';
import { createServer, logStartup } from './bootstrap.js';
import { loadSettings } from './settings.js';

const settings = loadSettings();
try {
  const app = await createServer({ settings });
  await app.listen(settings.port);
  const devToken = settings.devSecret
    ? app.get(JwtService).sign({ sub: 'dev', tenant: 'default', boards: { '*': 'editor' }, global: 'editor' }, { expiresIn: '12h' })
    : undefined;
  logStartup(app, settings, devToken);
} catch (error) {
  // A configuration problem is the user's to fix: say what it is, without a stack trace.
  console.error(error instanceof ConfigurationError ? `Cannot start: ${error.message}` : error);
  process.exit(1);
}
