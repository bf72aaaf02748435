import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { StorageExceptionFilter } from '@app/storage';
import { ExampleHostModule } from './app.module.js';

// bodyParser: false, so upload routes receive the raw request stream.
const app = await NestFactory.create(ExampleHostModule, { bodyParser: false });
app.useGlobalFilters(new StorageExceptionFilter());
await app.listen(Number(process.env.PORT ?? 3001));
