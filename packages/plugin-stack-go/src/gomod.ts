import * as fs from 'node:fs';
import * as path from 'node:path';
import { usageError } from '@sous/core';

/** What the go stack reads from go.mod. */
export interface GoMod {
  module?: string;
  /** The `go` directive: the language version the module needs. */
  go: string;
  /** The `toolchain` directive (go 1.21+), without its "go" prefix. */
  toolchain?: string;
}

const VERSION = /^\d+\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?$/;

/** Reads `<dir>/go.mod`; a module without a `go` line cannot say which go to build with. */
export function readGoMod(dir: string): GoMod {
  const file = path.join(dir, 'go.mod');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError('GO_MOD_UNREADABLE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
  }
  const line = (kw: string) => new RegExp(`^\\s*${kw}\\s+(\\S+)\\s*(?://.*)?$`, 'm').exec(text)?.[1];
  const go = line('go');
  if (!go) {
    throw usageError('GO_MOD_NO_GO_VERSION', `${file} has no "go" line, so the go version to build with is unknown`, {
      file,
      field: 'go',
      hints: ['Add one, e.g. run: go mod edit -go=1.22', 'Or set the images yourself: stacks: { go: { builderImage: "golang:1.22-bookworm" } }'],
    });
  }
  if (!VERSION.test(go)) {
    throw usageError('GO_MOD_INVALID', `${file}: "go ${go}" is not a go version`, { file, field: 'go', hints: ['Write it as go 1.22 or go 1.22.3'] });
  }
  const tc = line('toolchain')?.replace(/^go/, '');
  return { module: line('module'), go, toolchain: tc && VERSION.test(tc) ? tc : undefined };
}

function hasMainPackage(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return false;
  }
  return names.some((n) => n.endsWith('.go') && !n.endsWith('_test.go') && /^package\s+main\b/m.test(fs.readFileSync(path.join(dir, n), 'utf8')));
}

/** The package to build: the module root when it is package main, else the one ./cmd/<name> that is. */
export function mainPackage(dir: string): string {
  if (hasMainPackage(dir)) return '.';
  const cmd = path.join(dir, 'cmd');
  const mains = fs.existsSync(cmd) ? fs.readdirSync(cmd).filter((n) => hasMainPackage(path.join(cmd, n))).sort() : [];
  if (mains.length === 1) return `./cmd/${mains[0]}`;
  throw usageError('GO_NO_MAIN_PACKAGE', mains.length ? `${dir}: several main packages (${mains.map((m) => `./cmd/${m}`).join(', ')}), so which to build is unclear` : `${dir}: no main package at the module root or in ./cmd/<name>`, {
    field: 'stacks.go.package',
    hints: ['Name it in sous.config.ts: stacks: { go: { package: "./cmd/server" } }'],
  });
}
