import 'reflect-metadata';
import { JwtService } from '@nestjs/jwt';
import { createServer, logStartup } from './bootstrap.js';
import { loadSettings } from './settings.js';

const settings = loadSettings();
const app = await createServer({ settings });
await app.listen(settings.port);
const devToken = settings.devSecret
  ? app.get(JwtService).sign({ sub: 'dev', tenant: 'default', boards: { '*': 'editor' }, global: 'editor' }, { expiresIn: '12h' })
  : undefined;
logStartup(app, settings, devToken);
