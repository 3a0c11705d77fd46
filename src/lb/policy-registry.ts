/** Every balancing policy by name: the one place a new policy is registered. */
import { assertNever } from '../core/assert.js';
import type { Policy, PolicyName } from './policy.js';
import { leastConnPolicy } from './policy-least-conn.js';
import { maglevPolicy } from './policy-maglev.js';
import { p2cPolicy } from './policy-p2c.js';
import { randomPolicy } from './policy-random.js';
import { ringHashPolicy } from './policy-ring-hash.js';
import { roundRobinPolicy } from './policy-round-robin.js';
import { weightedRoundRobinPolicy } from './policy-weighted-round-robin.js';

export function policyByName(name: PolicyName): Policy {
  switch (name) {
    case 'round-robin':
      return roundRobinPolicy;
    case 'weighted-round-robin':
      return weightedRoundRobinPolicy;
    case 'least-conn':
      return leastConnPolicy;
    case 'random':
      return randomPolicy;
    case 'p2c':
      return p2cPolicy;
    case 'ring-hash':
      return ringHashPolicy;
    case 'maglev':
      return maglevPolicy;
    default:
      return assertNever(name, 'policy');
  }
}
