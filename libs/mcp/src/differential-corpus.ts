// The differential corpus (tests only): requests covering every method, content type and error path of
// server-everything, sent directly and through the gateway by the differential specs.

export const corpus: Array<[string, Record<string, unknown> | undefined]> = [
  ['ping', undefined],
  ['tools/list', undefined],
  ['tools/call', { name: 'echo', arguments: { message: 'hello ☃' } }],
  ['tools/call', { name: 'get-sum', arguments: { a: 2, b: 40 } }],
  ['tools/call', { name: 'get-tiny-image', arguments: {} }],
  ['tools/call', { name: 'get-structured-content', arguments: { location: 'New York' } }],
  ['tools/call', { name: 'get-annotated-message', arguments: { messageType: 'error', includeImage: true } }],
  ['tools/call', { name: 'get-resource-links', arguments: { count: 3 } }],
  ['tools/call', { name: 'get-resource-reference', arguments: { resourceType: 'Text', resourceId: 2 } }],
  ['tools/call', { name: 'echo', arguments: {}, _meta: { trace: 'abc' } }],
  ['tools/call', { name: 'no-such-tool', arguments: {} }],
  ['tools/call', { name: 'get-sum', arguments: { a: 'x' } }],
  ['resources/list', undefined],
  ['resources/list', { cursor: 'not-a-cursor' }],
  ['resources/templates/list', undefined],
  ['resources/read', { uri: 'demo://resource/static/document/features.md' }],
  ['resources/read', { uri: 'demo://resource/static/document/architecture.md' }],
  ['resources/read', { uri: 'demo://resource/does-not-exist' }],
  ['prompts/list', undefined],
  ['prompts/get', { name: 'simple-prompt' }],
  ['prompts/get', { name: 'args-prompt', arguments: { city: 'Paris', state: 'TX' } }],
  ['prompts/get', { name: 'resource-prompt', arguments: { resourceType: 'Text', resourceId: '3' } }],
  ['prompts/get', { name: 'no-such-prompt' }],
  [
    'completion/complete',
    { ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } },
  ],
  [
    'completion/complete',
    {
      ref: { type: 'ref/resource', uri: 'demo://resource/dynamic/text/{resourceId}' },
      argument: { name: 'resourceId', value: '1' },
    },
  ],
  ['logging/setLevel', { level: 'warning' }],
  ['resources/subscribe', { uri: 'demo://resource/dynamic/text/1' }],
  ['resources/unsubscribe', { uri: 'demo://resource/dynamic/text/1' }],
  ['no/such/method', {}],
];

/** Dynamic resources embed their creation time: the only part allowed to differ between two processes. */
export function normaliseTimes(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v).replace(/\d{1,2}:\d{2}:\d{2} [AP]M/g, '<time>')) as unknown;
}
