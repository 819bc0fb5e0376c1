// The panels' public API for the extension (see docs/panels.md).
export { WebviewPanels } from './panels';
export { handlePanelIntents } from './intents';
