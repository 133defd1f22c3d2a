/** The README's minimal app is the one the consumer-app test installs the package into, file for file. */
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const codeBlocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

describe('the README', () => {
  it.each(['resources.ts', 'handler.ts', 'app.ts'])('shows examples/minimal/%s exactly as the consumer-app test runs it', (file) => {
    expect(codeBlocks).toContain(fs.readFileSync(path.join(REPO, 'examples', 'minimal', file), 'utf8'));
  });

  it("keeps the repository's two commands on its first screen", () => {
    const firstScreen = readme.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('npm ci && npx cdk synth');
    expect(firstScreen).toContain('npm test');
  });
});
