// Name collisions on an aggregate endpoint: two servers offering the same (exposed) name would let one server
// shadow another's tool, so colliding names are refused rather than resolved by order.

export interface Collision {
  /** The name as the aggregate endpoint would expose it. */
  exposedName: string;
  /** Every server (and its own item name) that maps to it, sorted by server. */
  owners: Array<{ server: string; name: string }>;
}

export interface CollisionOptions {
  /** How the aggregate endpoint names an item (e.g. `${server}__${name}`); default: the name unchanged. */
  exposedName?: (server: string, name: string) => string;
}

type Lists = Readonly<Record<string, readonly { name?: string }[]>> | ReadonlyMap<string, readonly { name?: string }[]>;

/** Every exposed name claimed by more than one server, sorted by name. Same name twice on ONE server is not a collision. */
export function detectCollisions(listsByServer: Lists, opts: CollisionOptions = {}): Collision[] {
  const expose = opts.exposedName ?? ((_server: string, name: string) => name);
  const owners = new Map<string, Map<string, string>>();
  const entries = listsByServer instanceof Map ? [...listsByServer.entries()] : Object.entries(listsByServer);
  for (const [server, items] of entries) {
    for (const item of items as readonly { name?: string }[]) {
      if (typeof item.name !== 'string') continue;
      const exposed = expose(server, item.name);
      const byServer = owners.get(exposed) ?? new Map<string, string>();
      if (!byServer.has(server)) byServer.set(server, item.name);
      owners.set(exposed, byServer);
    }
  }
  const collisions: Collision[] = [];
  for (const [exposedName, byServer] of owners) {
    if (byServer.size < 2) continue;
    collisions.push({
      exposedName,
      owners: [...byServer.entries()]
        .map(([server, name]) => ({ server, name }))
        .sort((a, b) => (a.server < b.server ? -1 : a.server > b.server ? 1 : 0)),
    });
  }
  return collisions.sort((a, b) => (a.exposedName < b.exposedName ? -1 : a.exposedName > b.exposedName ? 1 : 0));
}

/** The lists with every colliding name removed from every server, plus the collisions (to log/audit). */
export function withoutCollisions<T extends { name?: string }>(
  listsByServer: Readonly<Record<string, readonly T[]>>,
  opts: CollisionOptions = {},
): { lists: Record<string, T[]>; collisions: Collision[] } {
  const collisions = detectCollisions(listsByServer, opts);
  const refused = new Set(collisions.flatMap((c) => c.owners.map((o) => `${o.server}\u0000${o.name}`)));
  const lists: Record<string, T[]> = {};
  for (const [server, items] of Object.entries(listsByServer)) {
    lists[server] = items.filter((i) => typeof i.name !== 'string' || !refused.has(`${server}\u0000${i.name}`));
  }
  return { lists, collisions };
}
