import 'reflect-metadata';
import { IsInt, IsString, MetadataStorage, registerDecorator, validateSync } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { validateMessage } from './validation';
import { memoizeValidationMetadata } from './validation-metadata.cache';

class Base {
  @IsString()
  name!: string;
}
class Child extends Base {
  @IsInt()
  count!: number;
}

describe('memoizeValidationMetadata', () => {
  it('answers exactly what class-validator computes (inherited rules included), the same array every call', () => {
    const plain = new MetadataStorage();
    const memo = new MetadataStorage();
    for (const s of [plain, memo]) {
      s.addValidationMetadata({ target: Base, propertyName: 'name', type: 'customValidation', constraints: [], validationTypeOptions: {} } as never);
      s.addValidationMetadata({ target: Child, propertyName: 'count', type: 'customValidation', constraints: [], validationTypeOptions: {} } as never);
    }
    memoizeValidationMetadata(memo);
    const first = memo.getTargetValidationMetadatas(Child, '', false, false);
    expect(first).toEqual(plain.getTargetValidationMetadatas(Child, '', false, false));
    expect(memo.getTargetValidationMetadatas(Child, '', false, false)).toBe(first);
    expect(memo.groupByPropertyName(first)).toBe(memo.groupByPropertyName(first));
    expect(memo.groupByPropertyName(first)).toEqual(plain.groupByPropertyName(first));
    // With groups: not memoized (Signoff does not use them), still the same answer.
    expect(memo.getTargetValidationMetadatas(Child, '', false, false, ['g'])).toEqual(plain.getTargetValidationMetadatas(Child, '', false, false, ['g']));
  });

  it('a rule registered after a lookup is seen by the next one', () => {
    const memo = new MetadataStorage();
    memoizeValidationMetadata(memo);
    expect(memo.getTargetValidationMetadatas(Base, '', false, false)).toHaveLength(0);
    memo.addValidationMetadata({ target: Base, propertyName: 'name', type: 'customValidation', constraints: [], validationTypeOptions: {} } as never);
    expect(memo.getTargetValidationMetadatas(Base, '', false, false)).toHaveLength(1);
  });

  it('on the global storage: a decorator added to a class after it was validated takes effect', () => {
    class Late {
      value!: unknown;
    }
    expect(validateMessage(Late, { value: 1 })).toMatchObject({ ok: false });
    registerDecorator({ target: Late, propertyName: 'value', validator: { validate: (v: unknown) => typeof v === 'string' } });
    expect(validateMessage(Late, { value: 'x' }).ok).toBe(true);
    const errors = validateSync(Object.assign(new Child(), { name: 1, count: 'x' }));
    expect(errors.map((e) => e.property).sort()).toEqual(['count', 'name']);
  });
});

describe('memoizeValidationMetadata against hostile input', () => {
  it('keeps classes only: messages with their own `constructor` member are refused and hold nothing', () => {
    class Job {
      @IsString()
      topic!: string;
    }
    const cachedClasses = memoizeValidationMetadata();
    expect(validateMessage(Job, { topic: 'a.b' }).ok).toBe(true);
    const before = cachedClasses();
    for (let i = 0; i < 500; i += 1) {
      const result = validateMessage(Job, JSON.parse(`{"topic":"a.b","constructor":{"n":${i}}}`));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.map((e) => e.field)).toContain('constructor');
    }
    expect(cachedClasses()).toBe(before);
  });

  it('asked with an object that is not a class (a nested member named constructor), it answers without keeping it', () => {
    const memo = new MetadataStorage();
    const cachedClasses = memoizeValidationMetadata(memo);
    memo.getTargetValidationMetadatas(Base, '', false, false);
    for (let i = 0; i < 500; i += 1) expect(memo.getTargetValidationMetadatas({ n: i } as never, '', false, false)).toEqual([]);
    expect(cachedClasses()).toBe(1);
  });
});
