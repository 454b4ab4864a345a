import type { PolicyDecision } from '@signoff/contracts';
import { isMap as isMapNode, isScalar, isSeq as isSeqNode, type Node } from 'yaml';
import { type ConditionSubject, parseSubject } from './condition-subject.util';
import { formatDuration, parseDuration } from './duration.util';
import { canonicalJson } from './integrity.hash';
import { compilePolicyRegex } from './policy-regex';
import {
  type ApprovalSpec,
  type Condition,
  type EscalationStepSpec,
  CONDITION_OPERATORS,
  type ConditionOperator,
  type ConditionScalar,
  type DefaultDecision,
  type OperatorCondition,
  type ParsePolicyOptions,
  POLICY_DECISIONS,
  POLICY_FORMAT_VERSION,
  type PolicyBundle,
  type PolicyParseResult,
  type PolicyRule,
  THROTTLE_KEY_FIELDS,
  type ThrottleSpec,
} from './policy.types';
import { entriesByKey, join, type MapEntry, setOwn, YamlSource } from './yaml-source.reader';

const BUNDLE_KEYS: ReadonlySet<string> = new Set(['version', 'description', 'default', 'rules']);
const RULE_KEYS: ReadonlySet<string> = new Set(['id', 'description', 'when', 'decision', 'approval', 'throttle', 'redact']);
/** `redact` paths: inside the job's payload or labels, dotted, `*` for one level. */
const REDACT_PATH = /^(payload|labels)(\.([A-Za-z0-9_\-]+|\*))+$/;
const APPROVAL_KEYS: ReadonlySet<string> = new Set(['required', 'reviewers', 'timeout', 'on_timeout', 'notify', 'escalate']);
const ESCALATION_STEP_KEYS: ReadonlySet<string> = new Set(['after', 'notify', 'add_reviewers']);
const THROTTLE_KEYS: ReadonlySet<string> = new Set(['limit', 'per', 'key']);
const OPERATORS: ReadonlySet<string> = new Set(CONDITION_OPERATORS);
const DECISIONS: ReadonlySet<string> = new Set(POLICY_DECISIONS);

/** Rule ids: what a reviewer reads in a URL or a log line. */
export const RULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Approval timeout when a rule states none (DESIGN section 7). */
export const DEFAULT_APPROVAL_TIMEOUT = '24h';
/**
 * A notification target of `approval.notify`: `slack`, or `webhook:<endpoint id>` (an endpoint id of
 * SIGNOFF_WEBHOOKS_FILE). Whether the target is configured is checked at start and activation
 * (a warning and a metric), not here: a bundle is valid whatever is configured.
 */
export const NOTIFY_TARGET_PATTERN = /^(slack|webhook:[a-z0-9][a-z0-9-]{0,62})$/;
/** Targets one `notify` list may name. */
export const MAX_NOTIFY_TARGETS = 16;
/** Steps one `approval.escalate` may hold. */
export const MAX_ESCALATION_STEPS = 10;
/** Roles one step's `add_reviewers` may add. */
export const MAX_ADDED_REVIEWERS = 32;
/** Quorum sizes above this are refused as typos. */
export const MAX_REQUIRED_APPROVALS = 100;
/** A bundle with more rules than this is refused (it is compiled, stored and evaluated whole). */
export const MAX_POLICY_RULES = 2000;
/**
 * The largest normalized bundle, in bytes of its canonical JSON (RFC 8785): what PolicyActivated
 * stores, every instance reads back and `policy_snapshot` hashes. The same as the PUT body limit.
 */
export const MAX_POLICY_JSON_BYTES = 1_048_576;

/**
 * Parses and validates a policy bundle (YAML, or JSON, which YAML includes) into its normalized
 * form. Every problem is reported, each with `line` and `column` (1-based) and a `path`; a bundle
 * with any error is refused as a whole. Pure: no I/O, no clock.
 */
export function parsePolicy(text: string, options: ParsePolicyOptions = {}): PolicyParseResult {
  return validated(new YamlSource(text, options.format ?? 'yaml'));
}

/**
 * `parsePolicy` for a bundle that is already a value (the `bundle` of a PolicyActivated read back
 * from the event log): the same checks and the same normalized result as parsing its JSON, about
 * six times faster, and refused (`too_large`) before anything is built when the value is larger
 * than any bundle `parsePolicy` accepts. Errors carry line and column 1.
 */
export function parseStoredPolicy(value: unknown): PolicyParseResult {
  return validated(YamlSource.fromValue(value));
}

function validated(source: YamlSource): PolicyParseResult {
  if (source.refused) return { ok: false, errors: source.sortedErrors() };
  const bundle = readBundle(source);
  if (source.errors.length > 0 || bundle === undefined) return { ok: false, errors: source.sortedErrors() };
  const bytes = Buffer.byteLength(canonicalJson(bundle), 'utf8');
  if (bytes > MAX_POLICY_JSON_BYTES) {
    source.error('too_large', `the normalized bundle is ${bytes} bytes of JSON; at most ${MAX_POLICY_JSON_BYTES} are stored`, '', source.root);
    return { ok: false, errors: source.sortedErrors() };
  }
  return { ok: true, bundle };
}

function readBundle(src: YamlSource): PolicyBundle | undefined {
  if (src.root === null) {
    src.error('invalid_type', 'the policy document is empty; expected a mapping with version, default and rules', '', 0);
    return undefined;
  }
  const entries = src.mapping(src.root, '', 'the policy bundle', BUNDLE_KEYS);
  if (entries === null) return undefined;
  const get = entriesByKey(entries);

  let version: typeof POLICY_FORMAT_VERSION = POLICY_FORMAT_VERSION;
  const versionEntry = get('version');
  if (versionEntry) {
    const value = src.scalar(versionEntry.value, 'version', 'version');
    if (value !== undefined && value !== POLICY_FORMAT_VERSION) {
      src.error('invalid_value', `unsupported version ${JSON.stringify(value)}; this engine reads version ${POLICY_FORMAT_VERSION}`, 'version', versionEntry.value);
    }
    version = POLICY_FORMAT_VERSION;
  }

  let defaultDecision: DefaultDecision = 'deny';
  const defaultEntry = get('default');
  if (defaultEntry) {
    const value = src.scalar(defaultEntry.value, 'default', 'default');
    if (value === 'allow' || value === 'deny') defaultDecision = value;
    else if (value !== undefined) {
      const known = typeof value === 'string' && DECISIONS.has(value);
      src.error(
        known ? 'invalid_value' : 'unknown_decision',
        `default must be allow or deny, not ${JSON.stringify(value)}`,
        'default',
        defaultEntry.value,
      );
    }
  }

  const description = optionalString(src, get('description'), 'description');

  const rules: PolicyRule[] = [];
  const rulesEntry = get('rules');
  if (rulesEntry && !isNullNode(rulesEntry.value)) {
    let items = src.sequence(rulesEntry.value, 'rules', 'rules');
    if (items && items.length > MAX_POLICY_RULES) {
      src.error('too_large', `${items.length} rules; a bundle holds at most ${MAX_POLICY_RULES}`, 'rules', rulesEntry.value);
      items = null;
    }
    const seen = new Map<string, number>();
    items?.forEach((item, index) => {
      const rule = readRule(src, item, `rules[${index}]`, seen);
      if (rule) rules.push(rule);
    });
  }

  return {
    version,
    ...(description !== undefined ? { description } : {}),
    default: defaultDecision,
    rules,
  };
}

function readRule(src: YamlSource, node: Node, path: string, seen: Map<string, number>): PolicyRule | undefined {
  const entries = src.mapping(node, path, 'a rule', RULE_KEYS);
  if (entries === null) return undefined;
  const get = entriesByKey(entries);
  let ok = true;

  const idEntry = get('id');
  let id: string | undefined;
  if (!idEntry) {
    src.error('missing_key', 'a rule needs an id', path, node);
    ok = false;
  } else {
    id = src.string(idEntry.value, join(path, 'id'), 'id');
    if (id !== undefined && !RULE_ID_PATTERN.test(id)) {
      src.error('invalid_value', `rule id ${JSON.stringify(id)} must match ${RULE_ID_PATTERN.source}`, join(path, 'id'), idEntry.value);
      ok = false;
    } else if (id !== undefined) {
      const first = seen.get(id);
      if (first !== undefined) {
        src.error('duplicate_rule_id', `duplicate rule id "${id}" (first defined at line ${first})`, join(path, 'id'), idEntry.value);
        ok = false;
      } else {
        seen.set(id, src.position(idEntry.value).line);
      }
    } else ok = false;
  }

  const description = optionalString(src, get('description'), join(path, 'description'));

  const decisionEntry = get('decision');
  let decision: PolicyDecision | undefined;
  if (!decisionEntry) {
    src.error('missing_key', 'a rule needs a decision (allow, deny, throttle or require_human)', path, node);
    ok = false;
  } else {
    const value = src.scalar(decisionEntry.value, join(path, 'decision'), 'decision');
    if (typeof value === 'string' && DECISIONS.has(value)) decision = value as PolicyDecision;
    else {
      if (value !== undefined) {
        src.error(
          'unknown_decision',
          `unknown decision ${JSON.stringify(value)}; expected allow, deny, throttle or require_human`,
          join(path, 'decision'),
          decisionEntry.value,
        );
      }
      ok = false;
    }
  }

  const when = readWhen(src, get('when'), join(path, 'when'));
  if (when === undefined) ok = false;

  const approvalEntry = get('approval');
  let approval: ApprovalSpec | undefined;
  if (approvalEntry && decision !== undefined && decision !== 'require_human') {
    src.error('invalid_approval', `approval is only allowed on require_human rules, not on ${decision}`, join(path, 'approval'), approvalEntry.keyNode);
    ok = false;
  } else if (decision === 'require_human') {
    approval = readApproval(src, approvalEntry, join(path, 'approval'));
    if (approval === undefined) ok = false;
  }

  const throttleEntry = get('throttle');
  let throttle: ThrottleSpec | undefined;
  if (throttleEntry && decision !== undefined && decision !== 'throttle') {
    src.error('invalid_throttle', `throttle is only allowed on throttle rules, not on ${decision}`, join(path, 'throttle'), throttleEntry.keyNode);
    ok = false;
  } else if (decision === 'throttle') {
    if (!throttleEntry) {
      src.error('invalid_throttle', 'a throttle rule needs throttle: {limit, per, key}', join(path, 'throttle'), decisionEntry?.value ?? node);
      ok = false;
    } else {
      throttle = readThrottle(src, throttleEntry.value, join(path, 'throttle'));
      if (throttle === undefined) ok = false;
    }
  }

  const redact: string[] = [];
  const redactEntry = get('redact');
  if (redactEntry) {
    const items = src.sequence(redactEntry.value, join(path, 'redact'), 'redact');
    if (items === null) ok = false;
    else {
      items.forEach((item, index) => {
        const itemPath = `${join(path, 'redact')}[${index}]`;
        const value = src.scalar(item, itemPath, 'a redacted path');
        if (typeof value !== 'string' || !REDACT_PATH.test(value)) {
          if (value !== undefined) {
            src.error('invalid_value', `redact paths look like payload.card_number or labels.ssn (dotted, * for one level), not ${JSON.stringify(value)}`, itemPath, item);
          }
          ok = false;
        } else if (!redact.includes(value)) redact.push(value);
      });
    }
  }

  if (!ok || id === undefined || decision === undefined || when === undefined) return undefined;
  return {
    id,
    ...(description !== undefined ? { description } : {}),
    when,
    decision,
    ...(approval ? { approval } : {}),
    ...(throttle ? { throttle } : {}),
    ...(redact.length > 0 ? { redact } : {}),
  };
}

function readWhen(src: YamlSource, entry: MapEntry | undefined, path: string): Record<string, Condition> | undefined {
  if (!entry || isNullNode(entry.value)) return {};
  const entries = src.mapping(entry.value, path, 'when');
  if (entries === null) return undefined;
  const when: Record<string, Condition> = {};
  let ok = true;
  for (const { key, keyNode, value } of entries) {
    const subject = parseSubject(key);
    if ('error' in subject) {
      src.error('invalid_value', subject.error, join(path, key), keyNode);
      ok = false;
      continue;
    }
    const condition = readCondition(src, value, join(path, key), subject);
    if (condition === undefined) ok = false;
    else setOwn(when, key, condition);
  }
  return ok ? when : undefined;
}

function readCondition(src: YamlSource, node: Node, path: string, subject: ConditionSubject): Condition | undefined {
  if (isNullNode(node) && subject.kind !== 'payload') {
    src.error('invalid_value', 'a condition needs a value (a scalar, a list or an operator object)', path, node);
    return undefined;
  }
  if (isMapNode(node)) return readOperators(src, node, path, subject);
  if (isSeqNode(node)) return readScalarList(src, node, path, subject, 'a list condition');
  return readConditionScalar(src, node, path, subject);
}

function readOperators(src: YamlSource, node: Node, path: string, subject: ConditionSubject): OperatorCondition | undefined {
  const entries = src.mapping(node, path, 'an operator condition');
  if (entries === null) return undefined;
  if (entries.length === 0) {
    src.error('invalid_value', `an operator condition needs at least one of ${CONDITION_OPERATORS.join(', ')}`, path, node);
    return undefined;
  }
  const out: { -readonly [K in ConditionOperator]?: OperatorCondition[K] } = {};
  let ok = true;
  for (const { key, keyNode, value } of entries) {
    const opPath = join(path, key);
    if (!OPERATORS.has(key)) {
      src.error('unknown_operator', `unknown operator "${key}"; expected one of ${CONDITION_OPERATORS.join(', ')}`, opPath, keyNode);
      ok = false;
      continue;
    }
    const op = key as ConditionOperator;
    switch (op) {
      case 'in':
      case 'not_in': {
        const list = readScalarList(src, value, opPath, subject, `${op}`);
        if (list === undefined) ok = false;
        else out[op] = list;
        break;
      }
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte': {
        const bound = src.scalar(value, opPath, op);
        if (typeof bound === 'number') out[op] = bound;
        else {
          if (bound !== undefined) src.error('invalid_value', `${op} needs a number`, opPath, value);
          ok = false;
        }
        break;
      }
      case 'matches': {
        const pattern = src.scalar(value, opPath, op);
        if (typeof pattern !== 'string') {
          if (pattern !== undefined) src.error('invalid_regex', 'matches needs a regular expression string', opPath, value);
          ok = false;
        } else {
          const compiled = compilePolicyRegex(pattern);
          if ('error' in compiled) {
            src.error('invalid_regex', compiled.error, opPath, value);
            ok = false;
          } else out.matches = pattern;
        }
        break;
      }
      case 'exists': {
        const flag = src.scalar(value, opPath, op);
        if (typeof flag === 'boolean') out.exists = flag;
        else {
          if (flag !== undefined) src.error('invalid_value', 'exists needs true or false', opPath, value);
          ok = false;
        }
        break;
      }
      default: {
        const unreachable: never = op;
        throw new Error(`unhandled operator ${String(unreachable)}`);
      }
    }
  }
  return ok ? out : undefined;
}

function readScalarList(
  src: YamlSource,
  node: Node,
  path: string,
  subject: ConditionSubject,
  what: string,
): ConditionScalar[] | undefined {
  const items = src.sequence(node, path, what);
  if (items === null) return undefined;
  if (items.length === 0) {
    src.error('invalid_value', `${what} must not be empty`, path, node);
    return undefined;
  }
  const out: ConditionScalar[] = [];
  let ok = true;
  items.forEach((item, index) => {
    const value = readConditionScalar(src, item, `${path}[${index}]`, subject);
    if (value === undefined) ok = false;
    else out.push(value);
  });
  return ok ? out : undefined;
}

function readConditionScalar(src: YamlSource, node: Node, path: string, subject: ConditionSubject): ConditionScalar | undefined {
  if (isMapNode(node) || isSeqNode(node)) {
    src.error('invalid_type', 'expected a scalar here', path, node);
    return undefined;
  }
  const value = src.scalar(node, path, 'a condition value');
  if (value === undefined) return undefined;
  if (subject.kind !== 'payload' && typeof value !== 'string') {
    const what = subject.kind === 'label' ? `label "${subject.name}"` : subject.field;
    src.error('invalid_type', `${what} is a string: quote the value (${JSON.stringify(String(value))})`, path, node);
    return undefined;
  }
  return value;
}

function readApproval(src: YamlSource, entry: MapEntry | undefined, path: string): ApprovalSpec | undefined {
  const defaults: ApprovalSpec = {
    required: 1,
    reviewers: [],
    timeout: formatDuration(parseDuration(DEFAULT_APPROVAL_TIMEOUT) as number),
    on_timeout: 'reject',
  };
  if (!entry || isNullNode(entry.value)) return defaults;
  const entries = src.mapping(entry.value, path, 'approval', APPROVAL_KEYS);
  if (entries === null) return undefined;
  const get = entriesByKey(entries);
  let ok = true;

  let required = defaults.required;
  const requiredEntry = get('required');
  if (requiredEntry) {
    const value = src.scalar(requiredEntry.value, join(path, 'required'), 'required');
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_REQUIRED_APPROVALS) required = value;
    else {
      if (value !== undefined) {
        src.error('invalid_approval', `approval.required must be an integer from 1 to ${MAX_REQUIRED_APPROVALS}`, join(path, 'required'), requiredEntry.value);
      }
      ok = false;
    }
  }

  const reviewers: string[] = [];
  const reviewersEntry = get('reviewers');
  if (reviewersEntry) {
    const items = src.sequence(reviewersEntry.value, join(path, 'reviewers'), 'approval.reviewers');
    if (items === null) ok = false;
    else {
      const seen = new Set<string>();
      items.forEach((item, index) => {
        const itemPath = `${join(path, 'reviewers')}[${index}]`;
        const role = src.scalar(item, itemPath, 'a reviewer role');
        if (typeof role !== 'string' || role === '') {
          if (role !== undefined) src.error('invalid_approval', 'reviewers must be non-empty strings (reviewer roles)', itemPath, item);
          ok = false;
        } else if (seen.has(role)) {
          src.error('invalid_approval', `reviewer role "${role}" is listed twice`, itemPath, item);
          ok = false;
        } else {
          seen.add(role);
          reviewers.push(role);
        }
      });
    }
  }

  let timeout = defaults.timeout;
  const timeoutEntry = get('timeout');
  if (timeoutEntry) {
    const parsed = readDuration(src, timeoutEntry.value, join(path, 'timeout'), 'approval.timeout');
    if (parsed === undefined) ok = false;
    else timeout = parsed;
  }

  const onTimeoutEntry = get('on_timeout');
  if (onTimeoutEntry) {
    const value = src.scalar(onTimeoutEntry.value, join(path, 'on_timeout'), 'on_timeout');
    if (value !== 'reject') {
      if (value !== undefined) {
        src.error('invalid_approval', `on_timeout must be reject (fail closed), not ${JSON.stringify(value)}`, join(path, 'on_timeout'), onTimeoutEntry.value);
      }
      ok = false;
    }
  }

  let notify: string[] | undefined;
  const notifyEntry = get('notify');
  if (notifyEntry) {
    notify = readNotify(src, notifyEntry.value, join(path, 'notify'), 'approval.notify');
    if (notify === undefined) ok = false;
  }

  let escalate: EscalationStepSpec[] | undefined;
  const escalateEntry = get('escalate');
  if (escalateEntry) {
    escalate = readEscalate(src, escalateEntry.value, join(path, 'escalate'), reviewers, parseDuration(timeout));
    if (escalate === undefined) ok = false;
  }

  if (!ok) return undefined;
  return {
    required,
    reviewers,
    timeout,
    on_timeout: 'reject',
    ...(notify !== undefined ? { notify } : {}),
    ...(escalate !== undefined && escalate.length > 0 ? { escalate } : {}),
  };
}

/** A `notify` list: 1 to MAX_NOTIFY_TARGETS distinct targets of NOTIFY_TARGET_PATTERN. */
function readNotify(src: YamlSource, node: Node, path: string, what: string): string[] | undefined {
  const items = src.sequence(node, path, what);
  if (items === null) return undefined;
  if (items.length === 0 || items.length > MAX_NOTIFY_TARGETS) {
    src.error('invalid_approval', `${what} must list 1 to ${MAX_NOTIFY_TARGETS} targets (slack or webhook:<endpoint id>)`, path, node);
    return undefined;
  }
  let ok = true;
  const targets: string[] = [];
  items.forEach((item, index) => {
    const itemPath = `${path}[${index}]`;
    const target = src.scalar(item, itemPath, 'a notification target');
    if (typeof target !== 'string' || !NOTIFY_TARGET_PATTERN.test(target)) {
      if (target !== undefined) {
        const shown = typeof target === 'string' ? JSON.stringify(target.slice(0, 80)) : JSON.stringify(target);
        src.error('invalid_approval', `a notification target is slack or webhook:<endpoint id> (lowercase letters, digits, -), not ${shown}`, itemPath, item);
      }
      ok = false;
    } else if (targets.includes(target)) {
      src.error('invalid_approval', `notification target "${target}" is listed twice`, itemPath, item);
      ok = false;
    } else targets.push(target);
  });
  return ok ? targets : undefined;
}

/**
 * `approval.escalate`: at most MAX_ESCALATION_STEPS steps, each `{after, notify?, add_reviewers?}`
 * with at least one of the two, `after` strictly increasing and below the approval's timeout.
 */
function readEscalate(src: YamlSource, node: Node, path: string, reviewers: readonly string[], timeoutMs: number | null): EscalationStepSpec[] | undefined {
  const items = src.sequence(node, path, 'approval.escalate');
  if (items === null) return undefined;
  if (items.length > MAX_ESCALATION_STEPS) {
    src.error('invalid_approval', `approval.escalate may hold at most ${MAX_ESCALATION_STEPS} steps`, path, node);
    return undefined;
  }
  let ok = true;
  const steps: EscalationStepSpec[] = [];
  let previousMs = 0;
  items.forEach((item, index) => {
    const stepPath = `${path}[${index}]`;
    const entries = src.mapping(item, stepPath, 'an escalation step', ESCALATION_STEP_KEYS);
    if (entries === null) {
      ok = false;
      return;
    }
    const get = entriesByKey(entries);
    let stepOk = true;
    let after: string | undefined;
    const afterEntry = get('after');
    if (!afterEntry) {
      src.error('invalid_approval', 'an escalation step needs after (a duration such as 30m)', stepPath, item);
      stepOk = false;
    } else {
      after = readDuration(src, afterEntry.value, join(stepPath, 'after'), 'escalate.after');
      const afterMs = after === undefined ? null : parseDuration(after);
      if (afterMs === null) stepOk = false;
      else if (afterMs <= previousMs) {
        src.error('invalid_approval', `escalate steps must be ordered by after, strictly increasing (${after} is not after the previous step)`, join(stepPath, 'after'), afterEntry.value);
        stepOk = false;
      } else if (timeoutMs !== null && afterMs >= timeoutMs) {
        src.error('invalid_approval', `escalate.after (${after}) must be shorter than approval.timeout: the approval expires first`, join(stepPath, 'after'), afterEntry.value);
        stepOk = false;
      } else previousMs = afterMs;
    }
    let notify: string[] | undefined;
    const notifyEntry = get('notify');
    if (notifyEntry) {
      notify = readNotify(src, notifyEntry.value, join(stepPath, 'notify'), 'escalate.notify');
      if (notify === undefined) stepOk = false;
    }
    let added: string[] | undefined;
    const addedEntry = get('add_reviewers');
    if (addedEntry) {
      added = readAddedReviewers(src, addedEntry.value, join(stepPath, 'add_reviewers'), reviewers);
      if (added === undefined) stepOk = false;
    }
    if (!notifyEntry && !addedEntry) {
      src.error('invalid_approval', 'an escalation step needs notify, add_reviewers or both', stepPath, item);
      stepOk = false;
    }
    if (!stepOk || after === undefined) {
      ok = false;
      return;
    }
    steps.push({ after, ...(notify !== undefined ? { notify } : {}), ...(added !== undefined ? { add_reviewers: added } : {}) });
  });
  return ok ? steps : undefined;
}

/** `add_reviewers`: distinct roles that are not already the rule's, and only on a rule that names roles. */
function readAddedReviewers(src: YamlSource, node: Node, path: string, reviewers: readonly string[]): string[] | undefined {
  const items = src.sequence(node, path, 'escalate.add_reviewers');
  if (items === null) return undefined;
  if (reviewers.length === 0) {
    src.error('invalid_approval', 'add_reviewers needs approval.reviewers: without reviewer roles every reviewer may approve already', path, node);
    return undefined;
  }
  if (items.length === 0 || items.length > MAX_ADDED_REVIEWERS) {
    src.error('invalid_approval', `add_reviewers must list 1 to ${MAX_ADDED_REVIEWERS} reviewer roles`, path, node);
    return undefined;
  }
  let ok = true;
  const roles: string[] = [];
  items.forEach((item, index) => {
    const itemPath = `${path}[${index}]`;
    const role = src.scalar(item, itemPath, 'a reviewer role');
    if (typeof role !== 'string' || role === '' || role.length > 128) {
      if (role !== undefined) src.error('invalid_approval', 'add_reviewers must be non-empty strings of at most 128 characters (reviewer roles)', itemPath, item);
      ok = false;
    } else if (roles.includes(role) || reviewers.includes(role)) {
      src.error('invalid_approval', `reviewer role "${role}" is listed twice (in reviewers or add_reviewers)`, itemPath, item);
      ok = false;
    } else roles.push(role);
  });
  return ok ? roles : undefined;
}

function readThrottle(src: YamlSource, node: Node, path: string): ThrottleSpec | undefined {
  const entries = src.mapping(node, path, 'throttle', THROTTLE_KEYS);
  if (entries === null) return undefined;
  const get = entriesByKey(entries);
  let ok = true;

  let limit: number | undefined;
  const limitEntry = get('limit');
  if (!limitEntry) {
    src.error('invalid_throttle', 'throttle needs a limit (an integer >= 1)', path, node);
    ok = false;
  } else {
    const value = src.scalar(limitEntry.value, join(path, 'limit'), 'limit');
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) limit = value;
    else {
      if (value !== undefined) src.error('invalid_throttle', 'throttle.limit must be an integer >= 1', join(path, 'limit'), limitEntry.value);
      ok = false;
    }
  }

  let per: string | undefined;
  const perEntry = get('per');
  if (!perEntry) {
    src.error('invalid_throttle', 'throttle needs per (a duration such as 1m)', path, node);
    ok = false;
  } else {
    per = readDuration(src, perEntry.value, join(path, 'per'), 'throttle.per');
    if (per === undefined) ok = false;
  }

  let key: string | undefined;
  const keyEntry = get('key');
  if (keyEntry) {
    const value = src.scalar(keyEntry.value, join(path, 'key'), 'key');
    if (typeof value === 'string' && isThrottleKey(value)) key = value;
    else {
      if (value !== undefined) {
        src.error(
          'invalid_throttle',
          `throttle.key must be one of ${THROTTLE_KEY_FIELDS.join(', ')} or labels.<name>, not ${JSON.stringify(value)}`,
          join(path, 'key'),
          keyEntry.value,
        );
      }
      ok = false;
    }
  }

  if (!ok || limit === undefined || per === undefined) return undefined;
  return { limit, per, ...(key !== undefined ? { key } : {}) };
}

/** Whether a throttle key is one the engine can count by. */
export function isThrottleKey(key: string): boolean {
  return (THROTTLE_KEY_FIELDS as readonly string[]).includes(key) || (key.startsWith('labels.') && key.length > 'labels.'.length);
}

function readDuration(src: YamlSource, node: Node, path: string, what: string): string | undefined {
  const value = src.scalar(node, path, what);
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null) {
    src.error(
      'invalid_duration',
      `${what} must be a duration such as 90s, 30m, 24h or 7d (a positive integer and one of ms, s, m, h, d; at most 365d), not ${JSON.stringify(value)}`,
      path,
      node,
    );
    return undefined;
  }
  return formatDuration(ms);
}

function optionalString(src: YamlSource, entry: MapEntry | undefined, path: string): string | undefined {
  if (!entry) return undefined;
  return src.string(entry.value, path, path.split('.').pop() ?? path);
}


function isNullNode(node: Node): boolean {
  return isScalar(node) && node.value === null;
}
