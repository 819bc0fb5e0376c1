import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { handlePanelIntents, type TrainerRequester } from '../../src/extension/panels/intents';
import type { WebviewPanels, UserIntentEvent } from '../../src/extension/panels/panels';

test('Grad-CAM after a relabel asks for the moved image, and one failing image leaves the others their overlay', async () => {
  let fire: (e: UserIntentEvent) => Promise<void> = async () => undefined;
  const shown: [string, string][] = [];
  const notices: string[] = [];
  const panels = {
    onUserIntent: (l: (e: UserIntentEvent) => Promise<void>) => ((fire = l), { dispose: () => undefined }),
    showGradCam: (file: string, png: string) => shown.push([file, png]),
    notice: (_k: string, _l: string, m: string) => notices.push(m),
    setCleanerChanges: () => undefined,
    refreshDataset: () => undefined,
  } as unknown as WebviewPanels;
  const asked: string[] = [];
  const service = {
    request: async (method: string, p: { file: string; newLabel?: string }) => {
      if (method === 'relabel') return { op: 'relabel', kind: 'move', to: '/ds/bag/a.png', oldLabel: 'tshirt', newLabel: 'bag' };
      if (method === 'deleteFile') return {};
      asked.push(p.file);
      if (p.file === '/ds/tshirt/broken.png') throw new Error('The image /ds/tshirt/broken.png does not exist');
      return { png: `png of ${p.file}` };
    },
  } as unknown as TrainerRequester;
  handlePanelIntents(panels, service);
  await fire({ panel: 'interpretation', intent: { type: 'relabel', file: '/ds/tshirt/a.png', newLabel: 'bag' } });
  await fire({ panel: 'interpretation', intent: { type: 'delete', file: '/ds/tshirt/gone.png' } });
  await fire({ panel: 'interpretation', intent: { type: 'toggleGradCam', enabled: true, files: ['/ds/tshirt/a.png', '/ds/tshirt/gone.png', '/ds/tshirt/broken.png', '/ds/bag/c.png'] } });
  assert.deepEqual(asked, ['/ds/bag/a.png', '/ds/tshirt/broken.png', '/ds/bag/c.png']);
  assert.deepEqual(shown, [['/ds/tshirt/a.png', 'png of /ds/bag/a.png'], ['/ds/bag/c.png', 'png of /ds/bag/c.png']]);
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /Grad-CAM of \/ds\/tshirt\/broken\.png failed: .*does not exist/);
});
