// The TypeORM CLI's data source: `npx typeorm migration:run -d dist/src/database/data-source.js`.
import { DataSource } from 'typeorm';
import { loadSettings } from '../settings.js';
import { databaseOptions } from './database-options.js';

export default new DataSource({ ...databaseOptions(loadSettings().databaseUrl), migrationsRun: false });
