import { type Connection } from '@temporalio/client';
import { type SearchAttributeDefinition, type SearchAttributeTypeName } from '@atom-gov/contracts';
// A CommonJS module whose named exports Node's ESM loader cannot detect: use the default export.
import proto from '@temporalio/proto';

const { temporal } = proto;

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const typeCodes: Record<SearchAttributeTypeName, number> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** The shell command an operator runs to register one attribute on a real cluster. */
export function searchAttributeCommand(def: SearchAttributeDefinition, namespace: string): string {
  return `temporal operator search-attribute create --namespace ${namespace} --name ${def.name} --type ${def.type}`;
}

/**
 * Makes sure every definition is registered in the namespace with the right type. The dev server registers
 * `--search-attribute` flags only when it creates its database, so attributes added in a later release are
 * missing from an older data dir: add them here. A workflow that upserts an unregistered key fails its
 * workflow task forever, so a wrong type, or a missing key we may not add, is an error naming the fix.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
  defs: readonly SearchAttributeDefinition[],
  opts: { register: boolean } = { register: true },
): Promise<{ added: string[] }> {
  const existing = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  const wrongType = defs.filter((d) => d.name in existing && existing[d.name] !== typeCodes[d.type]);
  if (wrongType.length > 0) {
    throw new Error(
      `Temporal namespace '${namespace}' has search attributes with the wrong type: ${wrongType
        .map((d) => `${d.name} (expected ${d.type})`)
        .join(', ')}. Use another namespace or remove them.`,
    );
  }
  const missing = defs.filter((d) => !(d.name in existing));
  if (missing.length === 0) return { added: [] };
  if (!opts.register) {
    throw new Error(
      `Temporal namespace '${namespace}' lacks search attributes ATOM-GOV needs. Register them:\n` +
        missing.map((d) => `  ${searchAttributeCommand(d, namespace)}`).join('\n'),
    );
  }
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((d) => [d.name, typeCodes[d.type]])),
    });
  } catch (error) {
    throw new Error(
      `could not register search attributes in Temporal namespace '${namespace}' (${(error as Error).message}). ` +
        `Ask an operator to run:\n${missing.map((d) => `  ${searchAttributeCommand(d, namespace)}`).join('\n')}`,
      { cause: error },
    );
  }
  return { added: missing.map((d) => d.name) };
}
