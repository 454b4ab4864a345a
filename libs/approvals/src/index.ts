/**
 * @signoff/approvals: the job/approval aggregate as a pure decider (DESIGN sections 2 to 4).
 * `decide(command, state)`, `evolve(state, event)`, `initialState()`; no I/O, no clock, no
 * randomness: time and ids come in with each command. README.md says where each behaviour lives;
 * the decider's own pieces (the four `*.decider.ts`, the command validation and the decision kit)
 * stay internal: `decide`, `jobDecider` and `NO_ACTIVE_POLICY` reach the barrel through
 * `job.decider.ts`, `submitAnswerOf` through `job.view.ts`.
 */
export * from './job.commands';
export * from './job.state';
export * from './job.outcomes';
export * from './job.decider';
export * from './job.view';
export * from './event-id';
export * from './job.amendment';
export * from './delegation.decider';
export * from './delegation.chain';
