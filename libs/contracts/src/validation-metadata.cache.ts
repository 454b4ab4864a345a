import { getMetadataStorage } from 'class-validator';

type Storage = ReturnType<typeof getMetadataStorage>;
type Metadata = ReturnType<Storage['getTargetValidationMetadatas']>;
type Grouped = ReturnType<Storage['groupByPropertyName']>;

const installed = new WeakMap<object, () => number>();

/**
 * Memoizes class-validator's per-call metadata lookups on its metadata storage: for every object
 * it validates, `getTargetValidationMetadatas` walks every decorated class of the process (an
 * `instanceof` each, for inherited rules) and filters the result, and `groupByPropertyName`
 * regroups it. Both are pure functions of the decorators registered so far, so their answers are
 * kept per class (without validation groups only, the one way Signoff validates) and dropped
 * whenever a decorator, constraint or schema is registered. The answers are shared, never copied:
 * class-validator only reads them. Idempotent.
 *
 * Only classes are kept. class-validator asks by `object.constructor`, and a body or message with
 * its own `constructor` member (`{"constructor": {}}`) makes that an object of the sender's: kept,
 * every such request would hold one more entry forever. Those are asked of class-validator as
 * before (and the member itself is refused by the whitelist).
 *
 * Returns how many classes are kept (for tests).
 */
export function memoizeValidationMetadata(storage: Storage = getMetadataStorage()): () => number {
  const existing = installed.get(storage);
  if (existing) return existing;
  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  let byTarget = new Map<unknown, Map<string, Metadata>>();
  let grouped = new WeakMap<Metadata, Grouped>();
  const forget = () => {
    byTarget = new Map();
    grouped = new WeakMap();
  };
  for (const name of ['addValidationMetadata', 'addConstraintMetadata', 'addValidationSchema'] as const) {
    const register = (storage[name] as (...args: unknown[]) => void).bind(storage);
    (storage as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      forget();
      register(...args);
    };
  }
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (typeof target !== 'function' || (groups !== undefined && groups.length > 0)) return lookup(target, schema, always, strictGroups, groups);
    const key = `${schema}\u0000${always}\u0000${strictGroups}`;
    let perKey = byTarget.get(target);
    if (perKey === undefined) byTarget.set(target, (perKey = new Map()));
    let found = perKey.get(key);
    if (found === undefined) perKey.set(key, (found = lookup(target, schema, always, strictGroups, groups)));
    return found;
  };
  storage.groupByPropertyName = (metadata) => {
    let found = grouped.get(metadata);
    if (found === undefined) grouped.set(metadata, (found = group(metadata)));
    return found;
  };
  const cachedClasses = () => byTarget.size;
  installed.set(storage, cachedClasses);
  return cachedClasses;
}
