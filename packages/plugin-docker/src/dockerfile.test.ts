import { expand, externalImages, instructions } from './dockerfile';

describe('reading a Dockerfile', () => {
  it('joins continuation lines, skips comments, and honours the escape directive', () => {
    expect(instructions('FROM a\nRUN echo 1 \\\n  # inner comment\n  && echo 2\n').map((i) => [i.keyword, i.rest, i.line])).toEqual([
      ['FROM', 'a', 1],
      ['RUN', 'echo 1    && echo 2', 2],
    ]);
    expect(instructions('# escape=`\nFROM b\nRUN dir c:\\ `\n  /w\n').map((i) => i.rest)).toEqual(['b', 'dir c:\\    /w']);
  });

  it('expands variables with defaults and alternatives; a variable without a value is unknown', () => {
    const vars = new Map([['A', '1'], ['E', '']]);
    expect(expand('x$A-${A}-${E:-d}-${A:+y}', vars)).toBe('x1-1-d-y');
    expect(expand('img:${NOPE}', vars)).toBeUndefined();
  });

  it('finds the external images: FROM and COPY --from, not stages, not scratch, args expanded', () => {
    const df = [
      'ARG BASE=alpine:3.19',
      'ARG TOOL',
      'FROM --platform=linux/amd64 golang:1.22 AS build',
      'COPY --from=tools/lint:2 /bin/lint /bin/',
      'FROM ${BASE} AS run',
      'COPY --from=build /out /out',
      'COPY --from=0 /x /x',
      'FROM scratch',
      'FROM $TOOL',
      'FROM run',
    ].join('\n');
    expect(externalImages(df)).toEqual(['golang:1.22', 'tools/lint:2', 'alpine:3.19']);
    expect(externalImages(df, { BASE: 'debian:12', TOOL: 'busybox' })).toEqual(['golang:1.22', 'tools/lint:2', 'debian:12', 'busybox']);
  });

  it('keeps a digest-pinned reference whole', () => {
    const ref = `127.0.0.1:5000/acme/app@sha256:${'a'.repeat(64)}`;
    expect(externalImages(`FROM ${ref}\n`)).toEqual([ref]);
  });
});
