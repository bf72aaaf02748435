/**
 * `${VAR}` interpolation always yields strings: these class-transformer transforms let boolean
 * and integer options take "true"/"false" and digit strings from the environment, and leave
 * anything else as it is for the validators to refuse.
 */
export const booleanish = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value === '' ? undefined : value;

export const integerish = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : value === '' ? undefined : value;
