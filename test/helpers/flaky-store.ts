import { MemoryStore } from '../../src/store/memory-store.js';
import type { TokenRecord } from '../../src/tokens/record.js';

/** A memory store whose token lookups fail while `isDown` is set: a store outage on demand. */
export class FlakyStore extends MemoryStore {
  isDown = false;
  override async getToken(id: string): Promise<TokenRecord | undefined> {
    if (this.isDown) throw new Error('store unreachable');
    return super.getToken(id);
  }
}
