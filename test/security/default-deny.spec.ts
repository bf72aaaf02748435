import { Controller, Get, Injectable, Module, UseGuards, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Request } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  ArtifactAccess,
  ArtifactAccessGuard,
  ArtifactAuthorizer,
  STORAGE_ENTITIES,
  STORAGE_MIGRATIONS,
  StorageExceptionFilter,
  StorageModule,
  type ArtifactAccessMetadata,
  type ArtifactTarget,
  type StoredArtifact,
} from '@app/storage';

@Controller()
@UseGuards(ArtifactAccessGuard)
class GuardedController {
  @Get('artifacts/:id')
  @ArtifactAccess('read')
  read() {
    return { served: true };
  }

  @Get('boards/:boardId')
  @ArtifactAccess('read', { board: { from: 'params', name: 'boardId' } })
  board() {
    return { served: true };
  }

  @Get('open')
  open() {
    return { served: true };
  }
}

/** Lets everyone in as tenant `t`: the subclass below must still refuse. */
@Injectable()
class AllowAll extends ArtifactAuthorizer<{ id: string }> {
  authenticate() {
    return { id: 'anyone' };
  }
  tenantOf() {
    return 't';
  }
  idOf(principal: { id: string }) {
    return principal.id;
  }
  canAccess(_p: unknown, _a: unknown, _artifact: StoredArtifact) {
    return true;
  }
  canAccessTarget(_p: unknown, _a: unknown, _target: ArtifactTarget) {
    return true;
  }
}

/** A customised guard through the protected hooks: boards named `frozen` are read-only for all. */
@Injectable()
class FrozenBoardGuard extends ArtifactAccessGuard {
  readonly refusals: string[] = [];
  protected override async decideTarget(principal: unknown, action: 'read' | 'write' | 'delete', target: ArtifactTarget) {
    if (target.boardId === 'frozen') throw new AccessDeniedError('This board is frozen');
    await super.decideTarget(principal, action, target);
  }
  protected override async onDenied(context: ExecutionContext, rule: ArtifactAccessMetadata, error: unknown) {
    this.refusals.push(`${context.switchToHttp().getRequest<Request>().path} ${rule.action} ${(error as { code?: string }).code}`);
  }
}

@Controller('custom')
@UseGuards(FrozenBoardGuard)
class CustomGuardController {
  @Get('boards/:boardId')
  @ArtifactAccess('read', { board: { from: 'params', name: 'boardId' } })
  board() {
    return { served: true };
  }
}

function database() {
  return TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', entities: [...STORAGE_ENTITIES], migrations: [...STORAGE_MIGRATIONS], migrationsRun: true });
}
const storage = () => StorageModule.forRoot({ defaultProvider: 'memory', providers: { memory: { type: 'memory' } }, route: false });

@Module({ imports: [database(), storage()], controllers: [GuardedController] })
class NoAuthorizerApp {}

@Module({ imports: [database(), storage()], controllers: [CustomGuardController], providers: [{ provide: ArtifactAuthorizer, useClass: AllowAll }, FrozenBoardGuard] })
class CustomGuardApp {}

describe('ArtifactAccessGuard in a host app', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function start(module: unknown) {
    const app = await NestFactory.create(module as never, { logger: false });
    app.useGlobalFilters(new StorageExceptionFilter());
    await app.listen(0, '127.0.0.1');
    close = () => app.close();
    const { port } = app.getHttpServer().address() as { port: number };
    return { app, url: `http://127.0.0.1:${port}` };
  }

  it('refuses every marked route when no ArtifactAuthorizer is provided (default deny)', async () => {
    const { url } = await start(NoAuthorizerApp);
    for (const path of ['/artifacts/0190a1b2-0000-7000-8000-000000000001', '/boards/b1']) {
      const response = await fetch(`${url}${path}`, { headers: { authorization: 'Bearer anything' } });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ code: 'E_ACCESS_DENIED' });
    }
    // Routes without @ArtifactAccess are the host's business: the guard lets them through.
    expect((await fetch(`${url}/open`)).status).toBe(200);
  });

  it('keeps its protected hooks: a subclass adds a rule and sees every refusal', async () => {
    const { app, url } = await start(CustomGuardApp);
    expect((await fetch(`${url}/custom/boards/b1`)).status).toBe(200);
    const frozen = await fetch(`${url}/custom/boards/frozen`);
    expect(frozen.status).toBe(403);
    expect(app.get(FrozenBoardGuard).refusals).toEqual(['/custom/boards/frozen read E_ACCESS_DENIED']);
  });
});
