/**
 * A method descriptor, as the generated `XService` objects provide them (src/api/proto/generated):
 * the path and the four codecs, so a handler or a call names the method once.
 */
export interface MethodDescriptor<Req, ReqInit, Res, ResInit> {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly encodeRequest: (m: ReqInit) => Uint8Array;
  readonly decodeRequest: (b: Uint8Array) => Req;
  readonly encodeResponse: (m: ResInit) => Uint8Array;
  readonly decodeResponse: (b: Uint8Array) => Res;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodDescriptor<any, any, any, any>;
export type RequestOf<M> = M extends { readonly decodeRequest: (b: Uint8Array) => infer R } ? R : never;
export type RequestInitOf<M> = M extends { readonly encodeRequest: (m: infer R) => Uint8Array } ? R : never;
export type ResponseOf<M> = M extends { readonly decodeResponse: (b: Uint8Array) => infer R } ? R : never;
export type ResponseInitOf<M> = M extends { readonly encodeResponse: (m: infer R) => Uint8Array } ? R : never;
