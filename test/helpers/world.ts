// Tests build on the hand-seeded testbed.
export * from '../../src/cluster/testbed.js';
