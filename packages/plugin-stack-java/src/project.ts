import * as fs from 'node:fs';
import * as path from 'node:path';
import { usageError } from '@sous/core';

export type JavaTool = 'maven' | 'gradle';

/** A java project as the stack sees it: its build tool, build file and the release it targets. */
export interface JavaProject {
  tool: JavaTool;
  /** The build file found (pom.xml, build.gradle or build.gradle.kts). */
  buildFile: string;
  /** The java release the build file asks for, when it says. */
  release?: string;
  /** Gradle only: the project has its own wrapper (./gradlew). */
  wrapper: boolean;
  /** Files the build reads before the sources (for an install step): build files, wrapper, settings. */
  buildFiles: string[];
}

const GRADLE_FILES = ['build.gradle', 'build.gradle.kts'];

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError('JAVA_BUILD_FILE_UNREADABLE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
  }
}

/** "1.8" → "8"; "17" → "17". */
function release(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const m = /^(?:1\.)?(\d+)$/.exec(v.trim());
  return m ? m[1] : undefined;
}

function first(text: string, patterns: RegExp[]): string | undefined {
  for (const p of patterns) {
    const r = release(p.exec(text)?.[1]);
    if (r) return r;
  }
  return undefined;
}

/** The build tool by build file: pom.xml is Maven, build.gradle(.kts) is Gradle (pom.xml first when both exist). */
export function detectJavaProject(dir: string): JavaProject | undefined {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  if (has('pom.xml')) {
    const file = path.join(dir, 'pom.xml');
    const text = read(file);
    if (!/<project[\s>]/.test(text)) {
      throw usageError('JAVA_POM_INVALID', `${file} has no <project> element: it is not a Maven POM`, { file, hints: ['Check the file: a POM starts with <project xmlns="http://maven.apache.org/POM/4.0.0" ...>'] });
    }
    const rel = first(text, [
      /<maven\.compiler\.release>\s*([\d.]+)\s*</,
      /<release>\s*([\d.]+)\s*<\/release>/,
      /<java\.version>\s*([\d.]+)\s*</,
      /<maven\.compiler\.target>\s*([\d.]+)\s*</,
      /<maven\.compiler\.source>\s*([\d.]+)\s*</,
    ]);
    const buildFiles = ['pom.xml', '.mvn'].filter(has);
    return { tool: 'maven', buildFile: 'pom.xml', release: rel, wrapper: false, buildFiles };
  }
  const gradle = GRADLE_FILES.find(has);
  if (!gradle) return undefined;
  const text = read(path.join(dir, gradle));
  const rel = first(text, [
    /JavaLanguageVersion\.of\(\s*["']?(\d+)["']?\s*\)/,
    /jvmToolchain\(\s*(\d+)\s*\)/,
    /(?:source|target)Compatibility\s*=\s*JavaVersion\.VERSION_(?:1_)?(\d+)/,
    /(?:source|target)Compatibility\s*=\s*["']?([\d.]+)["']?/,
  ]);
  const buildFiles = [gradle, 'settings.gradle', 'settings.gradle.kts', 'gradle.properties', 'gradlew', 'gradle'].filter(has);
  return { tool: 'gradle', buildFile: gradle, release: rel, wrapper: has('gradlew'), buildFiles };
}
