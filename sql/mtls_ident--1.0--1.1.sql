/* mtls_ident--1.0--1.1.sql: what 1.1 adds to 1.0.  CREATE EXTENSION at 1.1
 * runs mtls_ident--1.0.sql then this script; ALTER EXTENSION mtls_ident
 * UPDATE runs this script alone.  Bindings are security labels on roles, not
 * extension objects, so no step here touches them. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mtls_ident UPDATE TO '1.1'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Migration from cert + pg_ident.conf (SPEC section 10, doc/migration.md)
-- ---------------------------------------------------------------------------

-- One pass over a regular expression of pg_ident.conf (PostgreSQL's ARE, as
-- PostgreSQL compiles it there: REG_ADVANCED, C collation).  rewritten is the
-- same expression as mtls_ident accepts it: a literal "{" or "}" becomes
-- \u007b / \u007d (braces are reserved for {role}), comments (?#...) are
-- dropped.  refused says why it cannot become a binding at all.  kinds/texts
-- are its top-level items in order: 'char' (one character: a literal, an
-- escape, ".", a bracket expression; unquantified), 'start' (^ or \A), 'end'
-- ($ or \Z), 'alt' (|), 'group1' (capture group 1, unquantified), 'other'.
-- g1_start/g1_end: where capture group 1 is in rewritten (any depth).
CREATE FUNCTION mtls_ident._ident_regex(re text,
    OUT rewritten text, OUT refused text, OUT captures int,
    OUT kinds text[], OUT texts text[], OUT g1_start int, OUT g1_end int)
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n int := length(re);
    i int := 1;
    j int;
    k int;
    c text;
    d text;
    piece text;
    kind text;
    gk text;
    depth int := 0;
    in_constraint int := 0;
    stack_kind text[] := '{}';
    stack_start int[] := '{}';
    gstart int;
BEGIN
    rewritten := '';
    captures := 0;
    kinds := '{}';
    texts := '{}';
    IF left(re, 3) = '***' THEN
        refused := 'it starts with a "***" director, which a binding cannot carry';
        RETURN;
    END IF;
    IF re ~ '^\(\?[a-z]*\)' THEN
        refused := 'it starts with embedded options "(?...)", which a binding cannot carry (rewrite the expression without them)';
        RETURN;
    END IF;
    WHILE i <= n LOOP
        c := substr(re, i, 1);
        kind := 'char';
        IF c = '\' THEN
            d := substr(re, i + 1, 1);
            IF d = '' THEN
                refused := 'it ends with a backslash';
                RETURN;
            END IF;
            IF d ~ '[1-9]' THEN
                refused := format('it uses a back-reference (\%s), which bind() refuses', d);
                RETURN;
            END IF;
            piece := CASE d WHEN '{' THEN '\u007b' WHEN '}' THEN '\u007d' ELSE c || d END;
            kind := CASE WHEN d = 'A' THEN 'start' WHEN d = 'Z' THEN 'end'
                         WHEN d IN ('m', 'M', 'y', 'Y') THEN 'other' ELSE 'char' END;
            i := i + 2;
        ELSIF c = '[' THEN
            j := i + 1;
            piece := '[';
            IF substr(re, j, 1) = '^' THEN
                piece := piece || '^';
                j := j + 1;
            END IF;
            IF substr(re, j, 1) = ']' THEN
                piece := piece || ']';
                j := j + 1;
            END IF;
            LOOP
                d := substr(re, j, 1);
                IF d = '' THEN
                    refused := 'it has an unterminated bracket expression';
                    RETURN;
                ELSIF d = ']' THEN
                    piece := piece || ']';
                    j := j + 1;
                    EXIT;
                ELSIF d = '[' AND substr(re, j + 1, 1) IN (':', '.', '=') THEN
                    -- [:class:], [.element.], [=class=] up to their closing x]
                    k := strpos(substr(re, j + 2), substr(re, j + 1, 1) || ']');
                    IF k = 0 THEN
                        refused := 'it has an unterminated bracket expression';
                        RETURN;
                    END IF;
                    piece := piece || substr(re, j, k + 3);
                    j := j + k + 3;
                ELSIF d = '\' THEN
                    d := substr(re, j + 1, 1);
                    piece := piece || CASE d WHEN '{' THEN '\u007b' WHEN '}' THEN '\u007d' ELSE '\' || d END;
                    j := j + 2;
                ELSE
                    piece := piece || CASE d WHEN '{' THEN '\u007b' WHEN '}' THEN '\u007d' ELSE d END;
                    j := j + 1;
                END IF;
            END LOOP;
            i := j;
        ELSIF c = '(' THEN
            IF substr(re, i + 1, 2) = '?#' THEN
                k := strpos(substr(re, i), ')');
                IF k = 0 THEN
                    refused := 'it has an unterminated comment';
                    RETURN;
                END IF;
                i := i + k;
                CONTINUE;
            END IF;
            IF substr(re, i + 1, 2) = '?:' THEN
                gk := 'group';
                piece := '(?:';
            ELSIF substr(re, i + 1, 2) IN ('?=', '?!') THEN
                gk := 'constraint';
                piece := substr(re, i, 3);
            ELSIF substr(re, i + 1, 3) IN ('?<=', '?<!') THEN
                gk := 'constraint';
                piece := substr(re, i, 4);
            ELSIF substr(re, i + 1, 1) = '?' THEN
                refused := 'it has embedded options "(?...)" inside, which a binding cannot carry';
                RETURN;
            ELSIF in_constraint > 0 THEN
                gk := 'group';          -- parentheses in a constraint do not capture
                piece := '(';
            ELSE
                captures := captures + 1;
                gk := CASE WHEN captures = 1 THEN 'capture1' ELSE 'capture' END;
                piece := '(';
            END IF;
            IF gk = 'constraint' THEN
                in_constraint := in_constraint + 1;
            END IF;
            stack_kind := stack_kind || gk;
            stack_start := stack_start || (length(rewritten) + 1);
            depth := depth + 1;
            rewritten := rewritten || piece;
            i := i + length(piece);
            CONTINUE;
        ELSIF c = ')' THEN
            IF depth = 0 THEN
                refused := 'it has an unbalanced ")"';
                RETURN;
            END IF;
            gk := stack_kind[depth];
            gstart := stack_start[depth];
            stack_kind := stack_kind[1:depth - 1];
            stack_start := stack_start[1:depth - 1];
            depth := depth - 1;
            rewritten := rewritten || ')';
            i := i + 1;
            IF gk = 'constraint' THEN
                in_constraint := in_constraint - 1;
            END IF;
            IF gk = 'capture1' THEN
                g1_start := gstart;
                g1_end := length(rewritten);
            END IF;
            IF depth = 0 THEN
                kinds := kinds || CASE WHEN gk = 'capture1' THEN 'group1' ELSE 'other' END;
                texts := texts || substr(rewritten, gstart);
            END IF;
            CONTINUE;
        ELSIF c IN ('*', '+', '?') THEN
            piece := c;
            IF substr(re, i + 1, 1) = '?' THEN
                piece := piece || '?';
            END IF;
            i := i + length(piece);
            rewritten := rewritten || piece;
            IF depth = 0 AND cardinality(kinds) > 0 THEN
                kinds[cardinality(kinds)] := 'other';
                texts[cardinality(texts)] := texts[cardinality(texts)] || piece;
            END IF;
            CONTINUE;
        ELSIF c = '{' THEN
            IF substr(re, i + 1, 1) ~ '[0-9]' THEN
                refused := 'it uses a bound {m,n}, which bind() refuses (braces are reserved for {role}): write the repetition out';
                RETURN;
            END IF;
            piece := '\u007b';
            i := i + 1;
        ELSIF c = '}' THEN
            piece := '\u007d';
            i := i + 1;
        ELSE
            piece := c;
            kind := CASE c WHEN '|' THEN 'alt' WHEN '^' THEN 'start' WHEN '$' THEN 'end' ELSE 'char' END;
            i := i + 1;
        END IF;
        rewritten := rewritten || piece;
        IF depth = 0 THEN
            kinds := kinds || kind;
            texts := texts || piece;
        END IF;
    END LOOP;
    IF depth <> 0 THEN
        refused := 'it has an unbalanced "("';
    END IF;
END
$fn$;

-- A regular expression that matches exactly the text s (ASCII punctuation
-- and spaces escaped, braces as \u007b / \u007d).
CREATE FUNCTION mtls_ident._regex_literal(s text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT coalesce(string_agg(
           CASE WHEN ch = '{' THEN '\u007b'
                WHEN ch = '}' THEN '\u007d'
                WHEN ascii(ch) < 128 AND ch !~ '[A-Za-z0-9_]' THEN '\' || ch
                ELSE ch END, '' ORDER BY pos), '')
FROM unnest(string_to_array(s, NULL)) WITH ORDINALITY AS t(ch, pos)
$fn$;

-- The binding that admits what one pg_ident.conf line admits: kind is 'cn'
-- or 'dn' (clientname of the pg_hba.conf lines using the map);
-- role_keywords: pg_username may be all, +group or /regex (PostgreSQL 16 and
-- later; before, it is always a literal role name).  See
-- bindings_from_ident_map and doc/migration.md.
CREATE FUNCTION mtls_ident._ident_binding(sys_name text, pg_username text,
    kind text, role_keywords boolean, group_role name,
    OUT role name, OUT identity text, OUT note text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    rx record;
    nk int;
    s_anch boolean;
    e_anch boolean;
    lo int;
    hi int;
    g int;
    grp text;
    dotstar boolean := false;
    l1_fixed boolean;
    l2_fixed boolean;
    inner_re text;
    body text;
    why text[];
    subst boolean;
    role_note text;
    quoted_hint CONSTANT text := ' (if pg_ident.conf writes it in double quotes, it is a role name instead: then bind to that role)';
BEGIN
    -- who: the database user of the line
    subst := sys_name LIKE '/%' AND strpos(pg_username, '\1') > 0;
    IF role_keywords AND pg_username = 'all' THEN
        subst := false;
        role_note := 'database user "all" admits any role: bind this identity to each role that should be reachable with it (a binding applies only to the role that carries it)' || quoted_hint;
    ELSIF role_keywords AND pg_username LIKE '+%' THEN
        subst := false;
        role_note := format('database user "%s" admits every member of %s: bind this identity to each member that should log in with it (a binding without {role} applies only to the role that carries it)',
                            pg_username, substr(pg_username, 2)) || quoted_hint;
    ELSIF role_keywords AND pg_username LIKE '/%' THEN
        subst := false;
        role_note := format('database user "%s" is a regular expression on role names: bind this identity to each role it admits', pg_username);
    ELSIF subst AND pg_username <> '\1' THEN
        note := format('database user "%s" puts \1 inside a longer name, but {role} stands for the whole role name: no binding says this; bind an identity to each such role by hand', pg_username);
        RETURN;
    ELSIF subst THEN
        role := group_role;
        IF group_role IS NULL THEN
            role_note := 'the role is the capture (\1): bind this {role} identity to the group whose members may log in this way (pass it as group_role); only members of that group can use it';
        END IF;
    ELSE
        role := pg_username;
    END IF;

    -- what: the system user of the line
    IF sys_name NOT LIKE '/%' THEN
        -- a literal, compared with the whole CN (DN), byte for byte
        IF sys_name = '' THEN
            note := concat_ws('; ', 'the system user is empty: PostgreSQL never maps an empty name, nothing to bind', role_note);
            RETURN;
        ELSIF sys_name ~ '^~|[{}]' THEN
            identity := kind || ':~' || mtls_ident._regex_literal(sys_name);
        ELSE
            identity := kind || ':' || sys_name;
        END IF;
        note := role_note;
        RETURN;
    END IF;

    rx := mtls_ident._ident_regex(substr(sys_name, 2));
    IF rx.refused IS NOT NULL THEN
        note := concat_ws('; ', 'the regular expression cannot become a binding: ' || rx.refused, role_note);
        RETURN;
    END IF;
    nk := cardinality(rx.kinds);
    s_anch := nk > 0 AND rx.kinds[1] = 'start';
    e_anch := nk > (CASE WHEN s_anch THEN 1 ELSE 0 END) AND rx.kinds[nk] = 'end';
    lo := CASE WHEN s_anch THEN 2 ELSE 1 END;
    hi := CASE WHEN e_anch THEN nk - 1 ELSE nk END;

    IF NOT subst THEN
        -- PostgreSQL searches: the expression may match anywhere in the
        -- name; a binding's expression must match all of it
        IF 'alt' = ANY (rx.kinds) THEN
            body := '.*(?:' || rx.rewritten || ').*';
        ELSE
            inner_re := array_to_string(rx.texts[lo:hi], '');
            IF inner_re = '' AND s_anch AND e_anch THEN
                note := concat_ws('; ', 'the regular expression matches only an empty name, which PostgreSQL never maps: nothing to bind', role_note);
                RETURN;
            END IF;
            body := CASE WHEN s_anch THEN '' ELSE '.*' END || inner_re
                 || CASE WHEN e_anch OR inner_re = '' THEN '' ELSE '.*' END;
        END IF;
        identity := kind || ':~' || body;
        note := role_note;
        RETURN;
    END IF;

    -- \1: the capture is the role
    IF rx.captures = 0 THEN
        note := concat_ws('; ', 'database user \1, but the regular expression has no capture group: PostgreSQL refuses every certificate it matches (even when a later line would admit it); nothing to bind', role_note);
        RETURN;
    END IF;
    g := array_position(rx.kinds, 'group1');
    IF g IS NOT NULL THEN
        grp := substr(rx.texts[g], 2, length(rx.texts[g]) - 2);
        dotstar := grp IN ('.*', '.+');
        l1_fixed := g = lo OR (SELECT bool_and(x = 'char') FROM unnest(rx.kinds[lo:g - 1]) AS x);
        l2_fixed := g = hi OR (SELECT bool_and(x = 'char') FROM unnest(rx.kinds[g + 1:hi]) AS x);
    END IF;
    why := array_remove(ARRAY[
        CASE WHEN rx.captures > 1 THEN 'it has a second capture group' END,
        CASE WHEN g IS NULL THEN 'capture group 1 is quantified or inside another group' END,
        CASE WHEN 'alt' = ANY (rx.kinds) THEN 'it has a "|" outside any group' END,
        CASE WHEN g IS NOT NULL AND NOT (l1_fixed AND l2_fixed) THEN 'the text around the capture group is not a fixed run of single characters' END,
        CASE WHEN g IS NOT NULL AND NOT s_anch AND NOT (g = 1 AND dotstar) THEN 'it is not anchored with ^' END,
        CASE WHEN g IS NOT NULL AND NOT e_anch AND NOT (g = nk AND dotstar) THEN 'it is not anchored with $' END], NULL);
    IF cardinality(why) = 0 AND dotstar THEN
        -- ^ L1 (.*) L2 $ with L1, L2 fixed-length: the capture is the name
        -- minus L1 and L2, and any role name matches .* / .+, so "the role
        -- is the capture" is exactly "the name is L1 role L2"
        identity := kind || ':~' || array_to_string(rx.texts[lo:g - 1], '') || '{role}'
                 || array_to_string(rx.texts[g + 1:hi], '');
        note := role_note;
    ELSIF cardinality(why) = 0 THEN
        -- the same, but the role must also match G: only a lookahead could
        -- check that, and bind() refuses lookaheads.  Without the check the
        -- binding would admit roles the line refuses: fail closed, propose
        -- nothing, say what would be exact
        note := concat_ws('; ', format(
            'not proposed: PostgreSQL also requires the role name to match the capture group %s, which a binding could only check with a lookahead, and bind() refuses lookaheads; %s:~%s{role}%s on a group admits exactly what this line admits only if every member''s name matches ^(?:%s)$ (else it admits more): bind it to such a group, or bind %s:~%s<name>%s (the name written as a regular expression) to each such role',
            rx.texts[g], kind, array_to_string(rx.texts[lo:g - 1], ''), array_to_string(rx.texts[g + 1:hi], ''),
            grp, kind, array_to_string(rx.texts[lo:g - 1], ''), array_to_string(rx.texts[g + 1:hi], '')),
            role_note);
    ELSE
        -- a {role} binding here would admit every role name some match
        -- could capture, more than PostgreSQL's one preferred match: fail
        -- closed, propose nothing
        note := concat_ws('; ',
            'not proposed: PostgreSQL takes the role from the one match it prefers, but '
            || array_to_string(why, ', ')
            || ', so the capture is not fixed by the text around it; a {role} binding would admit every role name some match could capture, more than this line admits: rewrite the regular expression as ^L1(G)L2$ with fixed text around one capture group, or bind an identity to each role by hand',
            role_note);
    END IF;
END
$fn$;

-- The clientname (CN or DN) of the pg_hba.conf line that starts at line
-- line_no of file: the line is read with pg_read_file (superuser or
-- pg_read_server_files) and split into tokens by PostgreSQL's rules
-- (blanks and commas separate, "..." quotes with "" for a quote, # starts a
-- comment, a final backslash continues the line); pg_hba_file_rules does
-- not show clientname.  The method is the 5th field, or the 6th after an
-- address and a separate netmask; the last clientname option wins.
-- EXECUTE stays with PUBLIC, like the other helpers here: it runs with the
-- caller's rights and reads only what pg_read_file lets the caller read.
CREATE FUNCTION mtls_ident._hba_clientname(file text, line_no int)
RETURNS text
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    lines text[] := string_to_array(pg_catalog.pg_read_file(file), E'\n');
    acc text := '';
    l text;
    before int;
    i int := line_no;
    p int := 1;
    n int;
    c text;
    tok text;
    in_quote boolean;
    was_quote boolean;
    saw_quote boolean;
    comma boolean;
    field int := 0;
    fields int[] := '{}';
    toks text[] := '{}';
    opt_from int;
    result text := 'CN';
BEGIN
    LOOP
        l := rtrim(coalesce(lines[i], ''), E'\r\n');
        before := length(acc);
        acc := acc || l;
        EXIT WHEN lines[i] IS NULL OR NOT (length(acc) > before AND right(acc, 1) = '\');
        acc := left(acc, -1);
        i := i + 1;
    END LOOP;
    n := length(acc);
    <<fields_loop>>
    WHILE p <= n LOOP
        field := field + 1;
        LOOP
            -- one token (next_token in PostgreSQL's hba.c)
            WHILE p <= n AND substr(acc, p, 1) IN (' ', E'\t', E'\r', ',') LOOP
                p := p + 1;
            END LOOP;
            tok := '';
            in_quote := false;
            was_quote := false;
            saw_quote := false;
            comma := false;
            WHILE p <= n LOOP
                c := substr(acc, p, 1);
                EXIT WHEN c IN (' ', E'\t', E'\r') AND NOT in_quote;
                IF c = '#' AND NOT in_quote THEN
                    p := n + 1;
                    EXIT;
                END IF;
                IF c = ',' AND NOT in_quote THEN
                    comma := true;
                    p := p + 1;
                    EXIT;
                END IF;
                IF c <> '"' OR was_quote THEN
                    tok := tok || c;
                END IF;
                was_quote := CASE WHEN in_quote AND c = '"' THEN NOT was_quote ELSE false END;
                IF c = '"' THEN
                    in_quote := NOT in_quote;
                    saw_quote := true;
                END IF;
                p := p + 1;
            END LOOP;
            IF NOT (saw_quote OR tok <> '') THEN
                EXIT fields_loop WHEN p > n;
                EXIT;
            END IF;
            toks := toks || tok;
            fields := fields || field;
            EXIT WHEN NOT comma;
        END LOOP;
    END LOOP;
    opt_from := CASE WHEN (SELECT bool_or(t = 'cert') FROM unnest(toks, fields) AS u(t, f) WHERE f = 5)
                     THEN 6 ELSE 7 END;
    SELECT coalesce((array_agg(substr(t, 12) ORDER BY o DESC))[1], 'CN') INTO result
    FROM unnest(toks, fields) WITH ORDINALITY AS u(t, f, o)
    WHERE f >= opt_from AND t LIKE 'clientname=%';
    RETURN result;
END
$fn$;

-- NULL when bind() accepts the identity, else bind()'s reason (the same
-- parse and regex checks, src/sql_bindings.c); changes nothing.
CREATE FUNCTION mtls_ident._identity_refusal(identity text)
RETURNS text
AS 'MODULE_PATHNAME', 'mtls_ident_identity_refusal'
LANGUAGE C STABLE STRICT;

-- SPEC section 10.  Reads pg_ident_file_mappings (PostgreSQL 15 and later)
-- and pg_hba_file_rules, and the pg_hba.conf lines that use the map with
-- method cert (for their clientname).  Changes nothing.  SECURITY INVOKER:
-- the caller needs what reading those views needs (superuser by default, or
-- SELECT on the views and EXECUTE on their functions) and, to read
-- clientname, pg_read_file on the pg_hba.conf files (superuser or
-- pg_read_server_files; without it, rows say clientname was assumed CN).
CREATE FUNCTION mtls_ident.bindings_from_ident_map(map_name text, group_role regrole DEFAULT NULL)
RETURNS TABLE(role name, identity text, issuer text, line_number int, note text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    v16 boolean := current_setting('server_version_num')::int >= 160000;
    gname name;
    h record;
    cn_lines text[] := '{}';
    dn_lines text[] := '{}';
    other text[] := '{}';
    unread text;
    kind text;
    usage_note text;
    m record;
    t record;
    bad text;
    refusal text;
    found_any boolean := false;
BEGIN
    IF map_name IS NULL THEN
        RAISE EXCEPTION 'map_name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT r.rolname INTO gname FROM pg_catalog.pg_roles r WHERE r.oid = group_role;

    -- how pg_hba.conf uses the map
    FOR h IN EXECUTE format(
        'SELECT %s AS file, r.line_number AS line_no, r.auth_method AS method
           FROM pg_catalog.pg_hba_file_rules r
          WHERE r.error IS NULL AND $1 = ANY (r.options)
          ORDER BY %s',
        CASE WHEN v16 THEN 'r.file_name' ELSE 'pg_catalog.current_setting(''hba_file'')' END,
        CASE WHEN v16 THEN 'r.rule_number' ELSE 'r.line_number' END)
        USING 'map=' || map_name
    LOOP
        IF h.method <> 'cert' THEN
            other := other || format('%s (line %s)', h.method, h.line_no);
            CONTINUE;
        END IF;
        BEGIN
            IF mtls_ident._hba_clientname(h.file, h.line_no) = 'DN' THEN
                dn_lines := dn_lines || h.line_no::text;
            ELSE
                cn_lines := cn_lines || h.line_no::text;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            unread := format('could not read %s to learn the clientname of its line %s (%s): assumed clientname=CN',
                             h.file, h.line_no, SQLERRM);
            cn_lines := cn_lines || h.line_no::text;
        END;
    END LOOP;
    IF cardinality(dn_lines) > 0 AND cardinality(cn_lines) = 0 THEN
        kind := 'dn';
    ELSE
        kind := 'cn';
    END IF;
    IF cardinality(dn_lines) > 0 AND cardinality(cn_lines) > 0 THEN
        usage_note := format('pg_hba.conf uses this map with clientname=CN (line %s) and clientname=DN (line %s): this is the CN form; bind the dn: form too for the DN lines',
                             array_to_string(cn_lines, ', '), array_to_string(dn_lines, ', '));
    ELSIF cardinality(dn_lines) + cardinality(cn_lines) = 0 THEN
        usage_note := format('no cert line of pg_hba.conf uses map "%s"%s: assumed clientname=CN', map_name,
                             CASE WHEN cardinality(other) > 0
                                  THEN ' (only ' || array_to_string(other, ', ') || ', whose names do not come from certificates)'
                                  ELSE '' END);
    END IF;
    usage_note := nullif(concat_ws('; ', usage_note, unread), '');

    SELECT string_agg(e.line_number::text, ', ') INTO bad
    FROM pg_catalog.pg_ident_file_mappings e WHERE e.error IS NOT NULL;
    IF bad IS NOT NULL THEN
        RAISE WARNING 'pg_ident.conf has lines PostgreSQL cannot parse: %', bad
            USING DETAIL = 'They are not translated. While they are there, PostgreSQL keeps the maps it loaded before.',
                  HINT = 'See the error column of pg_ident_file_mappings.';
    END IF;

    FOR m IN EXECUTE format(
        'SELECT e.line_number AS line_no, e.sys_name, e.pg_username
           FROM pg_catalog.pg_ident_file_mappings e
          WHERE e.error IS NULL AND e.map_name = $1
          ORDER BY %s',
        CASE WHEN v16 THEN 'e.map_number' ELSE 'e.line_number' END)
        USING map_name
    LOOP
        found_any := true;
        t := mtls_ident._ident_binding(m.sys_name, m.pg_username, kind, v16, gname);
        role := t.role;
        identity := t.identity;
        issuer := NULL;
        line_number := m.line_no;
        note := t.note;
        -- checked as bind() checks it: what bind() refuses is not proposed
        refusal := mtls_ident._identity_refusal(identity);
        IF refusal IS NOT NULL THEN
            note := concat_ws('; ', format('not proposed: bind() refuses %s: %s', identity, refusal), note);
            identity := NULL;
        END IF;
        IF role IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role) THEN
            note := concat_ws('; ', note, format('role "%s" does not exist', role));
        END IF;
        note := nullif(concat_ws('; ', note, usage_note), '');
        RETURN NEXT;
    END LOOP;
    IF NOT found_any THEN
        RAISE NOTICE 'pg_ident.conf has no line for map "%"', map_name;
    END IF;
END
$fn$;

COMMENT ON FUNCTION mtls_ident.bindings_from_ident_map(text, regrole) IS
'proposes the bindings that admit what a pg_ident.conf map admits with the cert method (doc/migration.md)';

-- revocation_sources: one row per revocation source location (CRL files;
-- fetched CRLs and OCSP responders).  Paths, issuers and errors of the
-- server's revocation configuration: pg_read_all_stats, not PUBLIC.
CREATE FUNCTION mtls_ident._revocation_sources(
    OUT source text, OUT location text, OUT issuer text,
    OUT last_attempt timestamptz, OUT last_success timestamptz,
    OUT this_update timestamptz, OUT next_update timestamptz,
    OUT entries bigint, OUT queries bigint, OUT failures bigint,
    OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_revocation_sources'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW mtls_ident.revocation_sources AS
SELECT r.source, r.location, r.issuer, r.last_attempt, r.last_success,
       r.this_update, r.next_update, r.entries, r.queries, r.failures, r.error
FROM mtls_ident._revocation_sources() r;

REVOKE ALL ON FUNCTION mtls_ident._revocation_sources() FROM PUBLIC;
REVOKE ALL ON mtls_ident.revocation_sources FROM PUBLIC;
GRANT SELECT ON mtls_ident.revocation_sources TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION mtls_ident._revocation_sources() TO pg_read_all_stats;

-- memory: what each module of mtls_ident takes in shared memory (fixed, as
-- pg_shmem_allocations counts it) and in its dynamic area (dynamic shared
-- memory allocated as used: session facts too large for their slot, the
-- label cache).  Numbers only; readable like stats.
CREATE FUNCTION mtls_ident._memory(
	OUT area text, OUT shared_bytes bigint, OUT dynamic_bytes bigint,
	OUT dynamic_entries bigint, OUT dynamic_limit bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mtls_ident_memory'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW mtls_ident.memory AS
SELECT m.area, m.shared_bytes, m.dynamic_bytes, m.dynamic_entries, m.dynamic_limit
FROM mtls_ident._memory() m;

REVOKE ALL ON FUNCTION mtls_ident._memory() FROM PUBLIC;
REVOKE ALL ON mtls_ident.memory FROM PUBLIC;
GRANT SELECT ON mtls_ident.memory TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION mtls_ident._memory() TO pg_read_all_stats;
