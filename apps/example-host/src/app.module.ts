import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ArtifactAuthorizer, STORAGE_ENTITIES, STORAGE_MIGRATIONS, StorageModule } from '@app/storage';
import { GalleryController } from './gallery.controller.js';
import { HeaderAuthorizer } from './header.authorizer.js';

/**
 * Using Boards Storage from another Nest app: a TypeORM data source that carries the storage
 * entities and migrations, StorageModule configured from code, the guard on the app's own
 * controller, and the app's access policy as the ArtifactAuthorizer.
 */
@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'better-sqlite3',
      database: process.env.EXAMPLE_DB ?? ':memory:',
      entities: [...STORAGE_ENTITIES],
      migrations: [...STORAGE_MIGRATIONS],
      migrationsRun: true,
    }),
    StorageModule.forRoot({
      defaultProvider: 'images',
      providers: {
        images: { type: 'local', config: { base_path: process.env.EXAMPLE_STORAGE ?? './data/example-host' } },
      },
      allowedContentTypes: ['image/*'],
      maxFileSize: '20MB',
    }),
  ],
  controllers: [GalleryController],
  providers: [{ provide: ArtifactAuthorizer, useClass: HeaderAuthorizer }],
})
export class ExampleHostModule {}
