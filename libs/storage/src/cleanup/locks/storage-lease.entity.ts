import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A named lease: the row says who holds a lock and until when. Used to elect one sweeper among
 * replicas on databases without advisory locks (SQLite and others).
 */
@Entity({ name: 'storage_leases' })
export class StorageLease {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  name!: string;

  /** The holder's random id (one per process and lock). */
  @Column({ type: 'varchar', length: 128 })
  holder!: string;

  @Column({ name: 'acquired_at', type: Date })
  acquiredAt!: Date;

  /** Another holder may take the lease after this instant. */
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;
}
