import type { FieldList } from './codec.js';

/** Fields a head may have before the spans give up and make strings (a response rarely has 20). */
const MAX_SPANNED_FIELDS = 64;

/**
 * A message head's fields as positions in the one read that carried the whole head, instead of
 * a string per name and value: a proxy that copies most fields on as they came then makes no
 * strings for them. Only while llhttp hands each name and each value over in one piece, in turn,
 * from one chunk; anything else (a head across reads, more fields than fit) is `spill`ed into a
 * FieldList and the head goes on as strings. The positions are valid while that chunk is: until
 * the execute that parsed it returns.
 */
export class HeadSpans {
  /** The chunk every span lies in. */
  chunk: Buffer | undefined = undefined;
  /** Per field: name start, name end, value start, value end (the value as llhttp gave it, untrimmed). */
  readonly at = new Int32Array(MAX_SPANNED_FIELDS * 4);
  /** Fields whose name came (the last one's value may not have yet). */
  count = 0;
  /** The last field's name came and its value has not. */
  private isValueNext = false;

  /** Starts a new head. */
  reset(): void {
    this.chunk = undefined;
    this.count = 0;
    this.isValueNext = false;
  }

  /** A name; false when it does not fit the spans (then `spill` and go on with strings). */
  name(chunk: Buffer, start: number, end: number): boolean {
    if (this.isValueNext || this.count === MAX_SPANNED_FIELDS || (this.chunk !== undefined && this.chunk !== chunk)) return false;
    this.chunk = chunk;
    const at = this.count * 4;
    this.at[at] = start;
    this.at[at + 1] = end;
    this.count++;
    this.isValueNext = true;
    return true;
  }

  /** A value; false when it does not fit the spans. */
  value(chunk: Buffer, start: number, end: number): boolean {
    if (!this.isValueNext || this.chunk !== chunk) return false;
    const at = (this.count - 1) * 4;
    this.at[at + 2] = start;
    this.at[at + 3] = end;
    this.isValueNext = false;
    return true;
  }

  /** Whether every field came whole: each name with its value. */
  get isWhole(): boolean {
    return !this.isValueNext;
  }

  /** The fields so far, handed to `fields` as llhttp handed them over; the spans start over. */
  spill(fields: FieldList): void {
    const chunk = this.chunk;
    if (chunk !== undefined) {
      const at = this.at;
      for (let i = 0; i < this.count; i++) {
        fields.name(chunk, at[i * 4]!, at[i * 4 + 1]!);
        if (i < this.count - 1 || !this.isValueNext) fields.value(chunk, at[i * 4 + 2]!, at[i * 4 + 3]!);
      }
    }
    this.reset();
  }
}
