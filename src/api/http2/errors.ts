/**
 * Operating errors of the HTTP/2 layer. A connection error ends the connection with GOAWAY and the
 * given HTTP/2 error code; a stream error resets one stream (RFC 9113 §5.4). Both carry the code
 * to send, so the place that detects a violation also decides its scope.
 */
import { BulwarkError } from '../../core/errors.js';
import { errorCodeName } from './constants.js';

export type Http2ErrorCode = 'h2-connection' | 'h2-stream' | 'h2-closed';

/** The peer broke the protocol in a way that ends the whole connection. */
export class Http2ConnectionError extends BulwarkError<'h2-connection'> {
  constructor(
    readonly h2Code: number,
    message: string,
  ) {
    super('h2-connection', `${errorCodeName(h2Code)}: ${message}`);
    this.name = 'Http2ConnectionError';
  }
}

/** The peer broke the protocol on one stream; the stream is reset, the connection lives on. */
export class Http2StreamError extends BulwarkError<'h2-stream'> {
  constructor(
    readonly streamId: number,
    readonly h2Code: number,
    message: string,
  ) {
    super('h2-stream', `stream ${streamId}: ${errorCodeName(h2Code)}: ${message}`);
    this.name = 'Http2StreamError';
  }
}

/** The connection is gone (closed, failed or going away) and cannot carry a new stream. */
export class Http2ClosedError extends BulwarkError<'h2-closed'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('h2-closed', message, options);
    this.name = 'Http2ClosedError';
  }
}
