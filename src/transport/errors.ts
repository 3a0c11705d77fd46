import { BulwarkError } from '../core/errors.js';

export type TransportErrorCode =
  | 'frame-too-large'
  | 'bad-frame'
  | 'bad-checksum'
  | 'decoder-failed'
  | 'handshake-rejected'
  | 'handshake-timeout'
  | 'unreachable'
  | 'rpc-timeout'
  | 'rpc-failed'
  | 'too-many-rpcs'
  | 'closed'
  | 'bad-url';

export class TransportError extends BulwarkError<TransportErrorCode> {
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TransportError';
  }
}
