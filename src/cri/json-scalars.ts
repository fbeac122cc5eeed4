/** JSON-mapping details shared by the two decoders (view-decoder.ts; test/support/json-view-reference.ts, the protobuf.js mapping the tests hold it to). */

/** A float or double as the protobuf JSON mapping writes it: NaN and the infinities as strings. */
export function floatToJson(value: number, isFloat32: boolean): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (!isFloat32) return value;
  // A float32 widened to a double prints as 0.10000000149011612; show the shortest text that round-trips.
  for (let digits = 1; digits < 17; digits++) {
    const shorter = Number(value.toPrecision(digits));
    if (Math.fround(shorter) === value) return shorter;
  }
  return value;
}
