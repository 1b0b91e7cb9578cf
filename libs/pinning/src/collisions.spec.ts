import { describe, expect, it } from '@jest/globals';
import { detectCollisions, withoutCollisions } from './collisions.js';

describe('name collisions across servers', () => {
  it('reports a name offered by two servers, not a name repeated within one', () => {
    const lists = {
      github: [{ name: 'search' }, { name: 'create_issue' }],
      jira: [{ name: 'search' }, { name: 'create_issue_jira' }],
      solo: [{ name: 'dup' }, { name: 'dup' }],
    };
    expect(detectCollisions(lists)).toEqual([
      {
        exposedName: 'search',
        owners: [
          { server: 'github', name: 'search' },
          { server: 'jira', name: 'search' },
        ],
      },
    ]);
    expect(detectCollisions(new Map(Object.entries(lists)))).toHaveLength(1);
  });

  it('checks the names as the aggregate endpoint exposes them (prefixes can still collide)', () => {
    const prefixed = (server: string, name: string) => `${server}_${name}`;
    const lists = { a_b: [{ name: 'c' }], a: [{ name: 'b_c' }], x: [{ name: 'c' }] };
    expect(detectCollisions(lists, { exposedName: prefixed })).toEqual([
      {
        exposedName: 'a_b_c',
        owners: [
          { server: 'a', name: 'b_c' },
          { server: 'a_b', name: 'c' },
        ],
      },
    ]);
  });

  it('withoutCollisions removes every claimant of a colliding name and keeps the rest', () => {
    const { lists, collisions } = withoutCollisions({
      one: [
        { name: 'x', v: 1 },
        { name: 'y', v: 2 },
      ],
      two: [
        { name: 'x', v: 3 },
        { name: 'z', v: 4 },
      ],
    });
    expect(collisions.map((c) => c.exposedName)).toEqual(['x']);
    expect(lists).toEqual({ one: [{ name: 'y', v: 2 }], two: [{ name: 'z', v: 4 }] });
  });
});
