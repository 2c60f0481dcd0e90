/* oaweb definition editor: CodeMirror 6 (static/vendor/codemirror-*.min.js, window.CM) over the form's textarea.

   The textarea stays the form field: the form post, the htmx live check
   (its hx-post and hx-trigger), the size limit and the text kept after a
   refusal all work on it, and without script it is the editor. CodeMirror
   copies its text into it after each change and sends it an `input` event,
   which the live check listens for. A large text is copied only after a
   pause of a millisecond per KB (at most 2 s): setting a textarea to 2 MB
   takes Chromium 30-70 ms, which must not land between two keystrokes.

   Problems: the server's fragment (templates/workflows/_issues.html) gives
   each issue its JSON Pointer and line. The pointer is found in CodeMirror's
   JSON syntax tree and the span it names is underlined (a lint diagnostic,
   its message on hover); the line number of an error turns red. Where the
   tree does not reach the pointer yet (a large text is parsed in slices of
   idle time), the server's line is underlined until it does.

   Completion reads the registry the page carries (workflows/web/completions.py):
   component names, a step's inputs for its component, step ids in
   depends_on, step keys, and inside `{{ ... }}` the workflow's inputs and
   the declared outputs of the steps that may come before this one.

   Keys: Tab indents (Esc, then Tab, moves on: no keyboard trap), Ctrl/Cmd+S
   saves, Ctrl+Space completes.

   Size: the textarea's data-max-bytes is what the server can read of the
   form (workflows/web/editor.py). A text over it is neither sent to the
   live check nor saved: the Problems panel says why, and the text stays. A
   large text under it is checked after a longer pause than a small one. */
(function () {
  "use strict";

  var CM = window.CM;
  var LARGE = 256 * 1024; // characters: past this, the text is copied to the form field after a longer pause
  var PARSE_NOW_MS = 50; // parsing allowed when problems arrive; the rest is parsed in idle time
  var PARSE_SLICE_MS = 40;
  var NEWLINE = 10;
  var VALUES = { Object: true, Array: true, String: true, Number: true, True: true, False: true, Null: true };
  var WORD = /^[\w.\-]*$/;
  var REFERENCE_START = /\{\{\s*([\w.\-]*)$/;
  var STEP_REFERENCE = /steps\.([\w-]+)\.outputs/g;
  var STEP_KEYS = [
    ["id", "unique in the workflow"],
    ["component", "a registry name"],
    ["inputs", "the component's inputs"],
    ["depends_on", "steps that must finish first"],
    ["when", "a condition"],
    ["retry", "the retry policy"],
    ["timeout", "seconds per attempt"],
    ["queue", "the Celery queue"],
    ["priority", "0-9"],
    ["description", "free text"],
  ];

  // The bytes a form sends for `text`: UTF-8, each line break as CR LF (as the server counts them).
  function sentBytes(text) {
    var bytes = 0;
    for (var i = 0, n = text.length; i < n; i++) {
      var code = text.charCodeAt(i);
      if (code < 0x80) bytes += code === NEWLINE ? 2 : 1;
      else if (code < 0x800) bytes += 2;
      else if (code >= 0xd800 && code < 0xdc00 && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        bytes += 4; // a surrogate pair: one character of four bytes
        i++;
      } else bytes += 3; // a lone surrogate is sent as U+FFFD, three bytes too
    }
    return bytes;
  }

  // As workflows/web/editor.py size_text writes it.
  function sizeText(size) {
    if (size >= 1024 * 1024) return (size / (1024 * 1024)).toFixed(1) + " MB";
    if (size >= 1024) return (size / 1024).toFixed(1) + " KB";
    return size.toLocaleString("en") + " bytes";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // --- the JSON syntax tree: keys, pointers, paths ----------------------------------

  // A string token's text: sliced, or parsed when it holds escapes (rare in keys and ids).
  function stringText(state, from, to) {
    var raw = state.sliceDoc(from, to);
    if (raw.indexOf("\\") < 0) return raw.length > 1 && raw.charAt(raw.length - 1) === '"' ? raw.slice(1, -1) : null;
    try {
      return JSON.parse(raw);
    } catch (error) {
      return null; // a string still being typed
    }
  }

  function parsed(state, node, name) {
    return node && node.name === name ? stringText(state, node.from, node.to) : null;
  }

  function keyOf(state, property) {
    return parsed(state, property.firstChild, "PropertyName");
  }

  function valueOf(node) {
    for (var child = node && node.firstChild; child; child = child.nextSibling) if (VALUES[child.name]) return child;
    return null;
  }

  // The last property named `key`, as JSON.parse keeps the last of duplicates.
  function propertyOf(state, object, key) {
    var found = null;
    for (var child = object && object.firstChild; child; child = child.nextSibling) {
      if (child.name === "Property" && keyOf(state, child) === key) found = child;
    }
    return found;
  }

  function stringAt(state, object, key) {
    var property = propertyOf(state, object, key);
    return property ? parsed(state, valueOf(property), "String") : null;
  }

  function itemsOf(array) {
    var items = [];
    for (var child = array && array.firstChild; child; child = child.nextSibling) if (VALUES[child.name]) items.push(child);
    return items;
  }

  // Lists of thousands of steps are walked with a cursor, which makes no node objects.
  function itemAt(array, index) {
    var cursor = array.cursor();
    if (!cursor.firstChild()) return null;
    do {
      if (VALUES[cursor.name] && index-- === 0) return cursor.node;
    } while (cursor.nextSibling());
    return null;
  }

  function indexIn(array, node) {
    var index = 0;
    var cursor = array.cursor();
    if (!cursor.firstChild()) return index;
    do {
      if (cursor.from >= node.from) break;
      if (VALUES[cursor.name]) index++;
    } while (cursor.nextSibling());
    return index;
  }

  function pointerParts(pointer) {
    if (!pointer) return [];
    return pointer
      .split("/")
      .slice(1)
      .map(function (part) {
        return part.replace(/~1/g, "/").replace(/~0/g, "~");
      });
  }

  // The node a JSON Pointer names, or as far as the text goes: {node, property (whose value it is), exact}.
  function locate(state, tree, pointer) {
    var parts = pointerParts(pointer);
    var node = valueOf(tree.topNode);
    var property = null;
    var depth = 0;
    for (; node && depth < parts.length; depth++) {
      var part = parts[depth];
      if (node.name === "Object") {
        var holder = propertyOf(state, node, part);
        if (!holder) break;
        property = holder;
        node = valueOf(holder);
        if (!node) return { node: null, property: holder, exact: depth + 1 === parts.length }; // a key without its value yet
      } else if (node.name === "Array" && /^(0|[1-9][0-9]*)$/.test(part)) {
        var item = itemAt(node, Number(part));
        if (!item) break;
        property = null;
        node = item;
      } else break;
    }
    return { node: node, property: property, exact: depth === parts.length };
  }

  // The span to underline: a value on one line whole; a longer object or list by its key, or its opening bracket.
  function spanOf(state, found) {
    var node = found.node;
    var key = found.property && found.property.firstChild;
    if (!node) return key ? { from: key.from, to: key.to } : null;
    var oneLine = state.doc.lineAt(node.from).number === state.doc.lineAt(node.to).number;
    if (oneLine || (node.name !== "Object" && node.name !== "Array")) return { from: node.from, to: node.to };
    if (key) return { from: key.from, to: key.to };
    return { from: node.from, to: node.from + 1 };
  }

  // The JSON path (keys and indexes) of the value `node` is or is in.
  function pathOf(state, node) {
    var path = [];
    for (var child = node, parent = node.parent; parent; child = parent, parent = parent.parent) {
      if (parent.name === "Property" && child.name !== "PropertyName") path.unshift(keyOf(state, parent));
      else if (parent.name === "Array") path.unshift(indexIn(parent, child));
    }
    return path;
  }

  // The steps as written, in one pass of a tree cursor (thousands of steps: no node objects):
  // [{id, component, depends (the ids its depends_on names), from, to}] by index in "steps", null for non-objects.
  function stepsOf(state, tree) {
    var top = valueOf(tree.topNode);
    var list = top && top.name === "Object" ? valueOf(propertyOf(state, top, "steps")) : null;
    var steps = [];
    if (!list || list.name !== "Array") return steps;
    var cursor = list.cursor();
    if (!cursor.firstChild()) return steps;
    do {
      if (VALUES[cursor.name]) steps.push(cursor.name === "Object" ? readStep(state, cursor) : null);
    } while (cursor.nextSibling());
    return steps;
  }

  // The step the cursor is on (an Object); the cursor ends where it started.
  function readStep(state, cursor) {
    var step = { id: null, component: null, depends: [], from: cursor.from, to: cursor.to };
    if (!cursor.firstChild()) return step;
    do {
      if (cursor.name !== "Property" || !cursor.firstChild()) continue;
      var key = cursor.name === "PropertyName" ? stringText(state, cursor.from, cursor.to) : null;
      while (!VALUES[cursor.name] && cursor.nextSibling());
      var string = cursor.name === "String" ? stringText(state, cursor.from, cursor.to) : null;
      if (key === "id") step.id = string;
      else if (key === "component") step.component = string;
      else if (key === "depends_on" && cursor.name === "Array" && cursor.firstChild()) {
        do {
          if (cursor.name === "String") step.depends.push(stringText(state, cursor.from, cursor.to));
        } while (cursor.nextSibling());
        cursor.parent();
      }
      cursor.parent();
    } while (cursor.nextSibling());
    cursor.parent();
    return step;
  }

  // --- completion ----------------------------------------------------------------------

  function lastCharBefore(state, pos) {
    var text = state.sliceDoc(Math.max(0, pos - 200), pos).replace(/\s+$/, "");
    return text.charAt(text.length - 1);
  }

  // Where the cursor is: in a key or a value, between quotes or bare, and the node holding it.
  function placeAt(context) {
    var state = context.state;
    var pos = context.pos;
    var tree = CM.syntaxTree(state);
    var node = tree.resolveInner(pos, -1);
    if ((node.name === "String" || node.name === "PropertyName") && pos > node.from && pos < node.to) {
      var key = node.name === "PropertyName";
      return {
        kind: key ? "key" : "value",
        quoted: true,
        pos: pos,
        from: node.from + 1,
        to: node.to - 1,
        text: state.sliceDoc(node.from + 1, pos),
        holder: key ? node.parent.parent : node.parent,
      };
    }
    var word = context.matchBefore(/[\w.\-]+/);
    var start = word ? word.from : pos;
    var before = lastCharBefore(state, start);
    for (node = tree.resolveInner(start, -1); node && !/^(Object|Array|Property)$/.test(node.name); ) node = node.parent;
    if (!node) return null;
    var place = { quoted: false, pos: pos, from: start, to: pos, text: "", holder: node };
    if (node.name === "Object" && (before === "{" || before === ",")) place.kind = "key";
    else if ((node.name === "Property" && before === ":") || (node.name === "Array" && (before === "[" || before === ",")))
      place.kind = "value";
    else return null;
    return place;
  }

  function isStep(path, length) {
    return path.length === length && path[0] === "steps" && typeof path[1] === "number";
  }

  // What picking `text` writes. Bare: the JSON string (and `: ` after a key). Between quotes: the whole
  // string's content (the caret may be inside a word), and for a key with no colon yet, the colon too.
  function quote(place, text, key) {
    if (!place.quoted) return JSON.stringify(text) + (key ? ": " : "");
    var tail = place.to - place.pos; // the characters after the caret, up to the closing quote
    return function (view, completion, from, to) {
      var end = to + tail;
      var insert = text;
      if (key && !/^"\s*:/.test(view.state.sliceDoc(end, end + 40))) {
        insert = text + '": ';
        end += 1; // past the closing quote, written again before the colon
      }
      view.dispatch({
        changes: { from: from, to: end, insert: insert },
        selection: { anchor: from + insert.length },
        userEvent: "input.complete",
      });
    };
  }

  // The list filters on the text from `from` to the caret (CodeMirror also filters on `to`, if given: it isn't).
  function answer(place, options) {
    if (!options.length) return null;
    return { from: place.from, options: options, validFor: WORD };
  }

  function componentOptions(place, registry) {
    return registry.map(function (component) {
      return {
        label: component.name,
        type: "class",
        detail: component.kind,
        info: component.description || undefined,
        apply: quote(place, component.name),
      };
    });
  }

  // Keys the object already has, but the one being written.
  function keysIn(state, object, place) {
    var taken = {};
    for (var child = object.firstChild; child; child = child.nextSibling) {
      if (child.name === "Property" && !(child.from <= place.from && place.to <= child.to)) taken[keyOf(state, child)] = true;
    }
    return taken;
  }

  function inputOptions(state, place, step, registry) {
    var name = step && stringAt(state, step, "component");
    var component = registry.filter(function (each) {
      return each.name === name;
    })[0];
    if (!component) return [];
    var taken = keysIn(state, place.holder, place);
    return component.inputs
      .filter(function (input) {
        return !taken[input.name];
      })
      .map(function (input) {
        return {
          label: input.name,
          type: "property",
          detail: input.type + (input.required ? " · required" : ""),
          info: input.description || undefined,
          boost: input.required ? 1 : 0,
          apply: quote(place, input.name, true),
        };
      });
  }

  function stepKeyOptions(state, place) {
    var taken = keysIn(state, place.holder, place);
    return STEP_KEYS.filter(function (pair) {
      return !taken[pair[0]];
    }).map(function (pair) {
      return { label: pair[0], type: "keyword", detail: pair[1], apply: quote(place, pair[0], true) };
    });
  }

  // Ids of `index`'s step and of the steps that depend on it, directly or not: none of them can come before it.
  function laterSteps(state, steps, index) {
    var own = steps[index] && steps[index].id;
    var later = {};
    if (!own) return later;
    var written = steps.filter(Boolean);
    var base = written.length ? written[0].from : 0;
    var text = written.length ? state.sliceDoc(base, written[written.length - 1].to) : ""; // one slice, not one per step
    var children = {};
    written.forEach(function (step) {
      if (!step.id) return;
      var parents = step.depends.slice();
      var part = text.slice(step.from - base, step.to - base);
      STEP_REFERENCE.lastIndex = 0;
      for (var match = STEP_REFERENCE.exec(part); match; match = STEP_REFERENCE.exec(part)) parents.push(match[1]);
      parents.forEach(function (parent) {
        (children[parent] = children[parent] || []).push(step.id);
      });
    });
    var queue = [own];
    later[own] = true;
    while (queue.length) {
      (children[queue.pop()] || []).forEach(function (child) {
        if (later[child]) return;
        later[child] = true;
        queue.push(child);
      });
    }
    return later;
  }

  function stepIdOptions(state, place, index) {
    var tree = CM.ensureSyntaxTree(state, state.doc.length, PARSE_NOW_MS) || CM.syntaxTree(state);
    var steps = stepsOf(state, tree);
    var later = laterSteps(state, steps, index);
    var listed = {};
    itemsOf(place.holder).forEach(function (item) {
      if (!(item.from <= place.from && place.to <= item.to)) listed[parsed(state, item, "String")] = true;
    });
    return steps
      .filter(function (step) {
        return step && step.id && !later[step.id] && !listed[step.id];
      })
      .map(function (step) {
        return { label: step.id, type: "variable", detail: step.component || "", apply: quote(place, step.id) };
      });
  }

  function inputReferences(state, tree) {
    var top = valueOf(tree.topNode);
    var inputs = top && top.name === "Object" ? valueOf(propertyOf(state, top, "inputs")) : null;
    var options = [];
    for (var child = inputs && inputs.name === "Object" ? inputs.firstChild : null; child; child = child.nextSibling) {
      var name = child.name === "Property" ? keyOf(state, child) : null;
      if (name)
        options.push({ label: "inputs." + name, type: "variable", detail: stringAt(state, valueOf(child), "type") || "workflow input" });
    }
    return options;
  }

  // `{{ ` in a string: the workflow's inputs, and the declared outputs of every step that may come before this one.
  function referenceOptions(state, place, match, pos, registry) {
    var tree = CM.ensureSyntaxTree(state, state.doc.length, PARSE_NOW_MS) || CM.syntaxTree(state);
    var path = pathOf(state, place.holder);
    var steps = stepsOf(state, tree);
    var later = path[0] === "steps" && typeof path[1] === "number" ? laterSteps(state, steps, path[1]) : {};
    var close = /^[\w.\-]*\s*\}\}/.test(state.sliceDoc(pos, place.to + 1)) ? "" : " }}";
    var byName = {};
    registry.forEach(function (component) {
      byName[component.name] = component;
    });
    var options = inputReferences(state, tree).map(function (option) {
      option.apply = option.label + close;
      return option;
    });
    steps.forEach(function (step) {
      if (!step || !step.id || later[step.id]) return;
      var component = byName[step.component];
      var outputs = component ? component.outputs : [];
      outputs.forEach(function (output) {
        var label = "steps." + step.id + ".outputs." + output.name;
        options.push({ label: label, type: "variable", detail: output.type, info: step.component + " output", apply: label + close });
      });
      if (!outputs.length) {
        var open = "steps." + step.id + ".outputs."; // the name is the author's to write
        options.push({ label: open, type: "variable", detail: (step.component || "its component") + " declares no outputs" });
      }
    });
    return { from: pos - match[1].length, options: options, validFor: WORD };
  }

  function completeFrom(registry) {
    return function (context) {
      var place = placeAt(context);
      if (!place) return null;
      var state = context.state;
      if (place.kind === "value" && place.quoted) {
        var match = REFERENCE_START.exec(place.text);
        if (match) return referenceOptions(state, place, match, context.pos, registry);
      }
      var path = pathOf(state, place.holder);
      if (place.kind === "key") {
        if (isStep(path, 3) && path[2] === "inputs") {
          var step = locate(state, CM.syntaxTree(state), "/steps/" + path[1]).node;
          return answer(place, inputOptions(state, place, step, registry));
        }
        return isStep(path, 2) ? answer(place, stepKeyOptions(state, place)) : null;
      }
      if (place.holder.name === "Property" && isStep(path, 2) && keyOf(state, place.holder) === "component") {
        return answer(place, componentOptions(place, registry));
      }
      if (place.holder.name === "Array" && isStep(path, 3) && path[2] === "depends_on") {
        return answer(place, stepIdOptions(state, place, path[1]));
      }
      return null;
    };
  }

  // --- problems: underlines and red line numbers ---------------------------------------

  var markLines = CM && CM.StateEffect.define();
  var lineMarks =
    CM &&
    CM.StateField.define({
      create: function () {
        return CM.RangeSet.empty;
      },
      update: function (marks, tr) {
        marks = marks.map(tr.changes);
        tr.effects.forEach(function (effect) {
          if (effect.is(markLines)) marks = effect.value;
        });
        return marks;
      },
      provide: function (field) {
        return CM.lineNumberMarkers.from(field);
      },
    });

  function lineMarker(className) {
    var marker = new CM.GutterMarker();
    marker.elementClass = className; // no toDOM: the line number stays, with this class
    marker.eq = function (other) {
      return other === marker;
    };
    return marker;
  }

  var BAD = CM && lineMarker("bad");
  var WARN = CM && lineMarker("warn");

  function readIssues(root) {
    return Array.prototype.map.call(root.querySelectorAll("li[data-line]"), function (item) {
      var message = item.querySelector(".message");
      var suggestion = item.querySelector(".suggestion");
      return {
        item: item,
        pointer: item.getAttribute("data-path") || "",
        line: Number(item.getAttribute("data-line")),
        column: Number(item.getAttribute("data-column")) || 0,
        severity: item.classList.contains("warning") ? "warning" : "error",
        code: item.getAttribute("data-code") || "",
        message: (message ? message.textContent.trim() : "") + (suggestion ? " (" + suggestion.textContent.trim() + ")" : ""),
      };
    });
  }

  function lineSpan(state, number) {
    var line = state.doc.line(Math.max(1, Math.min(number, state.doc.lines)));
    var indent = /^\s*/.exec(line.text)[0].length;
    return { from: line.from + indent, to: line.to };
  }

  // Where an issue is in the current text: {from, to, exact}; exact is false while the tree doesn't reach its pointer.
  function issueSpan(state, issue, tree) {
    if (issue.column) {
      // A syntax error: the server's line and column (there is no tree of a text that isn't JSON).
      var line = state.doc.line(Math.max(1, Math.min(issue.line, state.doc.lines)));
      var at = Math.min(line.from + issue.column - 1, line.to);
      return { from: at, to: Math.min(at + 1, line.to), exact: true };
    }
    if (tree) {
      var found = locate(state, tree, issue.pointer);
      var span = (found.exact || tree.length >= state.doc.length) && spanOf(state, found);
      if (span) return { from: span.from, to: span.to, exact: true };
    }
    var fallback = lineSpan(state, issue.line);
    return { from: fallback.from, to: fallback.to, exact: !tree || tree.length >= state.doc.length };
  }

  // --- the editor ------------------------------------------------------------------------

  function extensions(options) {
    return [
      CM.lineNumbers(),
      CM.highlightActiveLineGutter(),
      CM.foldGutter(),
      CM.highlightSpecialChars(),
      CM.history(),
      CM.drawSelection(),
      CM.dropCursor(),
      CM.EditorState.allowMultipleSelections.of(true),
      CM.indentOnInput(),
      CM.indentUnit.of("  "),
      CM.syntaxHighlighting(CM.classHighlighter),
      CM.bracketMatching(),
      CM.closeBrackets(),
      CM.autocompletion({ override: [completeFrom(options.registry)], icons: false }),
      CM.rectangularSelection(),
      CM.crosshairCursor(),
      CM.highlightActiveLine(),
      CM.highlightSelectionMatches(),
      CM.json(),
      lineMarks,
      CM.Prec.high(
        CM.keymap.of([
          { key: "Mod-s", run: options.save, preventDefault: true },
          { key: "Tab", run: indent, shift: CM.indentLess },
        ]),
      ),
      CM.keymap.of(
        [].concat(
          CM.closeBracketsKeymap,
          CM.defaultKeymap,
          CM.searchKeymap,
          CM.historyKeymap,
          CM.foldKeymap,
          CM.completionKeymap,
          CM.lintKeymap,
        ),
      ),
      CM.EditorView.contentAttributes.of(options.attributes),
      CM.EditorView.updateListener.of(function (update) {
        if (update.docChanged) options.changed();
      }),
    ];
  }

  // Tab: two spaces at the caret, or the selected lines indented. (After Esc, CodeMirror lets Tab move focus on.)
  function indent(view) {
    var selected = view.state.selection.ranges.some(function (range) {
      return !range.empty;
    });
    if (selected) return CM.indentMore(view);
    view.dispatch(view.state.replaceSelection("  "), { scrollIntoView: true, userEvent: "input" });
    return true;
  }

  function readRegistry() {
    var holder = document.getElementById("editor-completions");
    try {
      return (holder && JSON.parse(holder.textContent)) || [];
    } catch (error) {
      return [];
    }
  }

  function setup(box) {
    var area = box.querySelector("textarea");
    if (!CM || !area || area.dataset.editorReady) return; // without the library the textarea stays the editor
    area.dataset.editorReady = "true";
    var limit = Number(area.getAttribute("data-max-bytes")) || 0;
    var limitSetting = area.getAttribute("data-max-setting") || "the limit";
    var issues = document.getElementById("issues");
    var dirty = false; // the editor's text is newer than the textarea's
    var syncTimer = null;
    var shown = 0; // bumped by every verdict, so that slow parsing for an older one gives up

    function flush() {
      if (syncTimer) clearTimeout(syncTimer);
      syncTimer = null;
      if (!dirty) return false;
      area.value = view.state.doc.toString();
      dirty = false;
      return true;
    }

    // The live check then waits its own 400 ms (hx-trigger) after the copy.
    function changed() {
      dirty = true;
      if (syncTimer) clearTimeout(syncTimer);
      var length = view.state.doc.length;
      syncTimer = setTimeout(
        function () {
          if (flush()) area.dispatchEvent(new Event("input", { bubbles: true }));
        },
        length > LARGE ? Math.min(2000, length / 1024) : 0,
      );
    }

    function save() {
      flush();
      if (area.form) area.form.requestSubmit();
      return true;
    }

    var host = box.appendChild(element("div", "cm-host"));
    box.classList.add("code-editor");
    var view = new CM.EditorView({
      parent: host,
      state: CM.EditorState.create({
        doc: area.value,
        extensions: extensions({
          registry: readRegistry(),
          save: save,
          changed: changed,
          attributes: { "aria-labelledby": "source-label", "aria-describedby": area.getAttribute("aria-describedby") || "" },
        }),
      }),
    });
    var label = document.querySelector('label[for="' + area.id + '"]');
    if (label) {
      label.addEventListener("click", function () {
        view.focus();
      });
    }

    // --- the Problems panel ---------------------------------------------------------

    function clearMarks() {
      view.dispatch(CM.setDiagnostics(view.state, []), { effects: markLines.of(CM.RangeSet.empty) });
    }

    function showVerdict(verdict) {
      shown++;
      if (issues) issues.replaceChildren(verdict);
      clearMarks();
    }

    // The server's fragment for a text too large (templates/workflows/_issues.html), written here.
    function showTooLarge(size) {
      var verdict = element("div", "verdict");
      verdict.setAttribute("data-bad-lines", "");
      verdict.appendChild(element("p", "error", "1 problem: fix it to save."));
      var item = element("li", "error");
      var where = item.appendChild(element("div"));
      where.appendChild(element("code", "path", "/"));
      where.appendChild(document.createTextNode(" "));
      where.appendChild(element("span", "hint", "error · too_large"));
      item.appendChild(
        element(
          "div",
          "message",
          "The document is " +
            sizeText(size) +
            "; the limit is " +
            sizeText(limit) +
            ". It is not checked, and can't be saved, until it is smaller.",
        ),
      );
      item.appendChild(element("div", "hint suggestion", "split the workflow into smaller ones, or raise " + limitSetting));
      verdict.appendChild(element("ul", "issues")).appendChild(item);
      showVerdict(verdict);
    }

    function showNotChecked(why) {
      var verdict = element("p", "error", "Not checked: " + why + ". The problems listed before may be out of date.");
      verdict.setAttribute("data-bad-lines", "");
      showVerdict(verdict);
    }

    // Underline each issue and mark its line; true if some wait for more of the tree.
    function underline(list) {
      var state = view.state;
      var tree = list.length ? CM.ensureSyntaxTree(state, state.doc.length, PARSE_NOW_MS) || CM.syntaxTree(state) : null;
      var diagnostics = [];
      var lines = {};
      var waiting = false;
      list.forEach(function (issue) {
        var span = issueSpan(state, issue, tree);
        waiting = waiting || !span.exact;
        diagnostics.push({ from: span.from, to: span.to, severity: issue.severity, message: issue.message, source: issue.code });
        var start = state.doc.lineAt(span.from).from;
        if (lines[start] !== BAD) lines[start] = issue.severity === "error" ? BAD : WARN;
      });
      var marks = Object.keys(lines).map(function (start) {
        return lines[start].range(Number(start));
      });
      view.dispatch(CM.setDiagnostics(state, diagnostics), { effects: markLines.of(CM.RangeSet.of(marks, true)) });
      return waiting;
    }

    var idle = window.requestIdleCallback
      ? function (work) {
          window.requestIdleCallback(work, { timeout: 300 });
        }
      : function (work) {
          setTimeout(work, 30);
        };

    // A large text's tree is built in slices of idle time; the underlines move to their spans once it is whole.
    function showProblems() {
      var list = issues ? readIssues(issues) : [];
      var mine = ++shown;
      if (!underline(list)) return;
      idle(function slice() {
        if (mine !== shown) return;
        if (CM.ensureSyntaxTree(view.state, view.state.doc.length, PARSE_SLICE_MS)) underline(list);
        else idle(slice);
      });
    }

    function tooLarge() {
      if (!limit) return 0;
      var size = sentBytes(area.value);
      return size > limit ? size : 0;
    }

    // Every live check asks first: none for a text over the limit.
    area.addEventListener("htmx:confirm", function (event) {
      if (event.target !== area) return;
      flush();
      var size = tooLarge();
      if (!size) return;
      event.preventDefault();
      if (window.htmx) window.htmx.trigger(area, "htmx:abort"); // a check under way would answer for older text
      showTooLarge(size);
    });

    if (area.form) {
      area.form.addEventListener("submit", function (event) {
        flush();
        var size = tooLarge();
        if (!size) return;
        event.preventDefault(); // sent, it would be refused unread, and the text lost
        showTooLarge(size);
      });
    }

    function aboutIssues(event) {
      return issues && event.detail && event.detail.target === issues;
    }

    function goTo(item) {
      var issue = readIssues(item.parentNode).filter(function (each) {
        return each.item === item;
      })[0];
      if (!issue) return;
      var state = view.state;
      var span = issueSpan(state, issue, CM.ensureSyntaxTree(state, state.doc.length, 2000)); // asked for: worth a wait
      view.dispatch({ selection: { anchor: span.from, head: span.to }, effects: CM.EditorView.scrollIntoView(span.from, { y: "center" }) });
      view.focus();
    }

    if (issues) {
      showProblems();
      document.body.addEventListener("htmx:beforeSwap", function (event) {
        // 413: the server's own word on a text too large to read; htmx leaves error answers out by default.
        if (aboutIssues(event) && event.detail.xhr && event.detail.xhr.status === 413) {
          event.detail.shouldSwap = true;
          event.detail.isError = false;
        }
      });
      document.body.addEventListener("htmx:afterSwap", function (event) {
        if (aboutIssues(event)) showProblems();
      });
      document.body.addEventListener("htmx:responseError", function (event) {
        if (aboutIssues(event)) showNotChecked("the server answered " + event.detail.xhr.status);
      });
      document.body.addEventListener("htmx:sendError", function (event) {
        if (aboutIssues(event)) showNotChecked("the server could not be reached");
      });
      issues.addEventListener("click", function (event) {
        var button = event.target.closest("button.goto");
        if (button && button.closest("li")) goTo(button.closest("li"));
      });
    }
  }

  function setupAll() {
    document.querySelectorAll("[data-editor]").forEach(setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupAll);
  else setupAll();
})();
