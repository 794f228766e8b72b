/**
 * libxl's IDL (`libxl_types.idl`) as data: the kinds of field libxl's types are made of, and
 * `IdlValue<T>`, the TypeScript value of a type described with them. The descriptions
 * themselves are `domain-info.ts` (create and build info) and `domain-config.ts` (devices and
 * `libxl_domain_config`); their JSON in libxl's shape, both ways, is `idl-json.ts`.
 *
 * Values: every struct field is optional, and absent means libxl's default (the field's `init`,
 * else C's zero: 0, false, NULL, the enum's zero value). An enum holds `null` where C memory
 * holds a number that names no enumerator (libxl writes it as JSON null).
 */
import type { CpuidPolicy } from './cpuid.js';

export type IntWidth = 'i32' | 'u8' | 'u16' | 'u32' | 'u64';

export type IdlType =
  /** C `bool`: false by default. */
  | { readonly k: 'bool' }
  /** `libxl_defbool`: true, false, or unset (`<default>`). */
  | { readonly k: 'defbool' }
  /** An integer of C type `width`; a value outside its range is written as C stores it (wrapped). */
  | { readonly k: 'int'; readonly width: IntWidth; readonly init: number | bigint }
  | { readonly k: 'string' }
  /** `init`: the default value; null when the enum numbers from 1 (its zero value has no name). */
  | { readonly k: 'enum'; readonly values: readonly string[]; readonly init: string | null }
  /** `libxl_bitmap`: the numbers of the set bits. */
  | { readonly k: 'bitmap' }
  /** `libxl_uuid`: lower-case `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; all zero = unset. */
  | { readonly k: 'uuid' }
  /** `libxl_mac`: lower-case `xx:xx:xx:xx:xx:xx`; all zero = unset. */
  | { readonly k: 'mac' }
  /** A fixed-size byte array (`libxl_ms_vm_genid`); all zero = unset. */
  | { readonly k: 'bytes'; readonly length: number }
  | { readonly k: 'string_list' }
  | { readonly k: 'kv_list' }
  /** `libxl_cpuid_policy_list` (see cpuid.ts). */
  | { readonly k: 'cpuid' }
  | { readonly k: 'array'; readonly of: IdlType }
  | IdlStruct
  /** A keyed union: the member named by the struct's field `keyvar` (an enum). */
  | { readonly k: 'union'; readonly keyvar: string; readonly members: Readonly<Record<string, IdlStruct | null>> };

export interface IdlField {
  readonly type: IdlType;
  /** Not part of the JSON (a keyed union's key variable). */
  readonly noJson?: boolean;
  /** A field newer than Xen 4.17: an aggregate written only when it has content. */
  readonly emitWhenSet?: boolean;
}
export type IdlFields = Readonly<Record<string, IdlField>>;
export interface IdlStruct {
  readonly k: 'struct';
  readonly fields: IdlFields;
}

export const f = <T extends IdlType>(type: T, extra: Omit<IdlField, 'type'> = {}): { readonly type: T } & Omit<IdlField, 'type'> => ({ type, ...extra });
export const bool = { k: 'bool' } as const;
export const defbool = { k: 'defbool' } as const;
export const string = { k: 'string' } as const;
export const bitmap = { k: 'bitmap' } as const;
export const uuid = { k: 'uuid' } as const;
export const mac = { k: 'mac' } as const;
export const stringList = { k: 'string_list' } as const;
export const kvList = { k: 'kv_list' } as const;
export const cpuid = { k: 'cpuid' } as const;
export const bytes = (length: number) => ({ k: 'bytes', length }) as const;
export const int = <W extends IntWidth>(width: W, init: number | bigint = 0) => ({ k: 'int', width, init }) as const;
export const i32 = int('i32');
export const u8 = int('u8');
export const u16 = int('u16');
export const u32 = int('u32');
export const u64 = int('u64');
/** `libxl_devid`: -1 asks libxl to pick one. */
export const devid = int('i32', -1);
/** `libxl_domid` (uint32). */
export const domid = u32;
/** `LIBXL_MEMKB_DEFAULT` (~0ULL): MemKB fields left unset. */
export const MEMKB_DEFAULT = 0xffffffffffffffffn;
export const memkb = int('u64', MEMKB_DEFAULT);
/** An enum whose default is `init`: absent, its first value (C's zero); null for an enum numbered from 1. */
export const enumOf = <V extends readonly string[]>(values: V, init: V[number] | null = values[0] ?? null): { readonly k: 'enum'; readonly values: V; readonly init: string | null } =>
  ({ k: 'enum', values, init });
export const arrayOf = <T extends IdlType>(of: T) => ({ k: 'array', of }) as const;
export const struct = <F extends IdlFields>(fields: F) => ({ k: 'struct', fields }) as const;
export const union = <M extends Readonly<Record<string, IdlStruct | null>>>(keyvar: string, members: M) => ({ k: 'union', keyvar, members }) as const;

/** The TypeScript value of an IDL type: every struct field optional (absent = libxl's default). */
export type IdlValue<T> =
  T extends { k: 'bool' | 'defbool' } ? boolean
    : T extends { k: 'int'; width: 'u64' } ? number | bigint
      : T extends { k: 'int' } ? number
        : T extends { k: 'string' | 'uuid' | 'mac' } ? string
          : T extends { k: 'enum'; values: readonly (infer V)[] } ? V | null
            : T extends { k: 'bitmap' | 'bytes' } ? number[]
              : T extends { k: 'string_list' } ? string[]
                : T extends { k: 'kv_list' } ? Record<string, string>
                  : T extends { k: 'cpuid' } ? CpuidPolicy
                    : T extends { k: 'array'; of: infer O } ? Array<IdlValue<O>>
                      : T extends { k: 'struct'; fields: infer F } ? IdlStructValue<F>
                        : T extends { k: 'union'; members: infer M } ? { -readonly [K in keyof M]?: M[K] extends null ? Record<string, never> : IdlValue<M[K]> }
                          : never;
export type IdlStructValue<F> = { -readonly [K in keyof F]?: F[K] extends { type: infer T } ? IdlValue<T> : never };
