/** The task queue the worker polls and the gateway starts workflows on, unless the config names another. */
export const DEFAULT_TASK_QUEUE = 'atom-gov';

/** The namespace used when the config names none (the dev server creates it at start). */
export const DEFAULT_NAMESPACE = 'default';
