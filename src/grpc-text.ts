/**
 * grpc-js error texts are written for its own logs: "14 UNAVAILABLE: No connection established.
 * Last error: Error: connect ENOENT /x.sock. Resolution note: " (the note often empty). critap
 * prints them to people, so the dangling parts go and the useful cause stays.
 */
export function cleanGrpcText(text: string): string {
  return text
    .replace(/\s*Resolution note:\s*$/, '')
    .replace(/Last error: Error: /g, 'last error: ')
    .replace(/\.\s*last error:/g, '; last error:')
    .trim();
}
