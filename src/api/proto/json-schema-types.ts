/** The shape of the generated field tables (generated/json-schema.ts) that the JSON mapping walks. */

export type FieldKind = 'bool' | 'string' | 'bytes' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'int64-number' | 'uint64-number' | 'enum' | 'message';

export interface FieldSchema {
  /** The proto field name (what grpc-gateway writes with OrigName). */
  readonly name: string;
  /** The TypeScript property: protoc's JSON name (lowerCamelCase), also accepted on input. */
  readonly prop: string;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** Full name of the enum or message type (without the leading dot). */
  readonly type?: string;
  /** The oneof's TypeScript property, for members of a oneof. */
  readonly oneof?: string;
}

export interface JsonSchema {
  readonly messages: Readonly<Record<string, readonly FieldSchema[]>>;
  readonly enums: Readonly<Record<string, Readonly<Record<string, number>>>>;
}
