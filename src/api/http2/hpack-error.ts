/** A header block that cannot be decoded: a COMPRESSION_ERROR for the whole connection (RFC 7541 §2.3). */
import { BulwarkError } from '../../core/errors.js';

export class HpackError extends BulwarkError<'hpack'> {
  constructor(message: string) {
    super('hpack', message);
    this.name = 'HpackError';
  }
}
