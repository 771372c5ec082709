// Renders /api/openapi.json as a readable reference: one section per model, its
// operations, and the fields of its records. Text only (no HTML from the document).
"use strict";

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function typeOf(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" or ");
  if (schema.type === "array") return "list of " + typeOf(schema.items);
  let text = Array.isArray(schema.type) ? schema.type.join(" or ") : (schema.type || "any");
  if (schema.format) text += " (" + schema.format + ")";
  if (schema.enum) text += ": " + schema.enum.slice(0, 12).join(", ") + (schema.enum.length > 12 ? ", …" : "");
  return text;
}

function fieldsTable(schema, caption) {
  const wrap = el("div", null, { class: "table-wrap" });
  const table = el("table");
  table.append(el("caption", caption, { class: "muted" }));
  const head = el("tr");
  head.append(el("th", "Field", { scope: "col" }), el("th", "Type", { scope: "col" }));
  table.append(head);
  for (const [name, property] of Object.entries(schema.properties || {})) {
    const row = el("tr");
    row.append(el("td"), el("td", typeOf(property)));
    row.firstChild.append(el("code", name));
    table.append(row);
  }
  wrap.append(table);
  return wrap;
}

function render(spec) {
  const root = document.getElementById("reference");
  root.replaceChildren();
  const schemas = spec.components.schemas;
  for (const [path, item] of Object.entries(spec.paths)) {
    if (path.endsWith("{pk}")) continue;
    const key = path.split("/").pop();
    const section = el("section", null, { id: key });
    section.append(el("h2", key));
    const list = el("ul");
    for (const [p, ops] of [[path, item], [path + "/{pk}", spec.paths[path + "/{pk}"] || {}]]) {
      for (const method of ["get", "post", "patch", "delete"]) {
        if (!ops[method]) continue;
        const line = el("li");
        line.append(el("span", method.toUpperCase(), { class: "method" }), el("code", p), " " + ops[method].summary);
        list.append(line);
      }
    }
    section.append(list);
    const name = (item.get.responses["200"].content["application/json"].schema.properties.data.items.$ref || "").split("/").pop();
    if (schemas[name]) section.append(fieldsTable(schemas[name], "Fields of a record"));
    if (schemas[name + "Create"]) section.append(fieldsTable(schemas[name + "Create"], "Fields a create may set"));
    root.append(section);
  }
}

fetch("/api/openapi.json")
  .then((response) => response.json())
  .then(render)
  .catch(() => { document.getElementById("reference").textContent = "The description could not be loaded."; });
