// The CodeMirror 6 pieces static/oaweb/editor.js uses (and tests/browser/test_editor_*.py read the editor's
// state with: completionStatus, forEachDiagnostic), bundled by build.sh into one IIFE that sets window.CM.
// Add an export here when editor.js needs one.
export { EditorState, StateEffect, StateField, Prec, RangeSet } from "@codemirror/state";
export {
  EditorView,
  keymap,
  lineNumbers,
  lineNumberMarkers,
  GutterMarker,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  drawSelection,
  dropCursor,
  rectangularSelection,
  crosshairCursor,
} from "@codemirror/view";
export {
  syntaxTree,
  ensureSyntaxTree,
  foldGutter,
  foldKeymap,
  bracketMatching,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
export { defaultKeymap, history, historyKeymap, indentMore, indentLess } from "@codemirror/commands";
export { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
export { autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap, completionStatus } from "@codemirror/autocomplete";
export { setDiagnostics, lintKeymap, forEachDiagnostic } from "@codemirror/lint";
export { json } from "@codemirror/lang-json";
export { classHighlighter } from "@lezer/highlight";
