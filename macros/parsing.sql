{#
    Parsing rules for raw text values, shared by the staging models and by
    `retail-tiers check` (which renders these macros with plain Jinja, so they must not use
    dbt-only functions). Each macro takes a SQL expression of type text and returns SQL.
    A value that does not parse becomes null; staging turns that into a quarantine reason.
#}

{# clean_text: trimmed text, empty string -> null. #}
{% macro clean_text(value) -%}
    nullif(trim({{ value }}), '')
{%- endmacro %}


{#
    parse_timestamp(value, time_zone): ISO 8601 (`2024-03-01`, `2024-03-01T09:30:00`,
    `2024-03-01 09:30`, fractional seconds), `YYYY/MM/DD[ HH:MM[:SS]]` and `YYYYMMDD`, each
    also with a 12-hour clock (`2024-03-01 10:00 PM`, `10:00pm`). A time with a UTC offset
    (`Z`, `+08:00`, `-0500`, `+00`; Parquet TIMESTAMPTZ arrives as such text) is converted to
    the wall-clock time in `time_zone` (the var `reporting_time_zone`); a time without one is
    taken as already in it. Impossible dates (2023-02-29) are null.
    A value must start with a digit: that keeps DuckDB's special values out (`epoch`,
    `infinity`, `-infinity` would otherwise cast to 1970-01-01, 9999-12-31, 0001-01-01).
    Cost: the plain cast takes most values; only the rest go to strptime, which is slow
    (microseconds per value and format tried), so a value gets only the formats that can
    match it: the slash formats when it has a slash, else `YYYYMMDD` (which has none).
    The commonest shape, `YYYY-MM-DD HH:MM:SS` (19 characters, colons at 14 and 17), skips
    the two regular expressions: neither can match a value of that shape (no room for an
    AM/PM or an offset after the seconds), so it would reach the plain cast anyway.
#}
{% macro parse_timestamp(value, time_zone='Asia/Shanghai') -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_timestamp', 'retail_tiers')(value, time_zone)) }}{% endif %}
    {%- set text = clean_text(value) -%}
    case
        when not (left({{ text }}, 1) between '0' and '9') then null
        when length({{ text }}) = 19 and substr({{ text }}, 14, 1) = ':'
            and substr({{ text }}, 17, 1) = ':'
            then try_cast({{ text }} as timestamp)
        when regexp_matches({{ text }}, '[0-9]\s*[AaPp]\.?[Mm]\.?$') then try_strptime(
            regexp_replace(upper(replace({{ text }}, '.', '')), '\s*([AP]M)$', ' \1'),
            ['%Y-%m-%d %I:%M:%S %p', '%Y-%m-%d %I:%M %p', '%Y-%m-%dT%I:%M:%S %p',
             '%Y-%m-%dT%I:%M %p', '%Y/%m/%d %I:%M:%S %p', '%Y/%m/%d %I:%M %p']
        )
        when regexp_matches({{ text }}, '[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)?\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$')
            then timezone('{{ time_zone }}', try_cast({{ text }} as timestamptz))
        else coalesce(
            try_cast({{ text }} as timestamp),
            case
                when contains({{ text }}, '/') then try_strptime(
                    {{ text }}, ['%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y/%m/%d']
                )
                else try_strptime({{ text }}, '%Y%m%d')
            end
        )
    end
{%- endmacro %}


{#
    reporting_time_zone(): the var `reporting_time_zone` (an IANA name such as Asia/Shanghai;
    `retail-tiers build` checks it against the time zone database), refused here too unless
    it is a plain name, so no var value can reach SQL as anything but a literal.
#}
{% macro reporting_time_zone() -%}
    {%- set zone = var('reporting_time_zone', 'Asia/Shanghai') | string -%}
    {%- if not modules.re.fullmatch('[A-Za-z][A-Za-z0-9_+/-]{0,63}', zone) -%}
        {{ exceptions.raise_compiler_error("var reporting_time_zone: must be a time zone name such as Asia/Shanghai, not '" ~ zone ~ "'") }}
    {%- endif -%}
    {{- return(zone) -}}
{%- endmacro %}


{#
    earliest_plausible_date(): the floor of a plausible business date. A timestamp before it
    (year 1, a BC date) is a typo or a default value of the exporting system, not a sale:
    staging quarantines it as `implausible_timestamp`.
#}
{% macro earliest_plausible_date() -%}
    date '1970-01-01'
{%- endmacro %}


{# parse_integer: an optional sign and digits (`3`, `-1`, `2.0` is accepted, `2.5` is not). #}
{% macro parse_integer(value) -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_integer', 'retail_tiers')(value)) }}{% endif %}
    case
        when regexp_full_match({{ clean_text(value) }}, '[+-]?[0-9]+(\.0*)?')
            then try_cast({{ clean_text(value) }} as bigint)
    end
{%- endmacro %}


{#
    parse_decimal: decimal notation (`12`, `-3.50`, `.5`) or scientific notation (`1e-05`, as
    Parquet DOUBLE values read as text), kept to 4 decimals; no currency signs, no commas.
    A number too large for decimal(18, 4) is null here and `is_out_of_range` says why.
#}
{% macro parse_decimal(value) -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('parse_decimal', 'retail_tiers')(value)) }}{% endif %}
    case
        when regexp_full_match({{ clean_text(value) }}, '[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)')
            then try_cast({{ clean_text(value) }} as decimal(18, 4))
        when regexp_full_match({{ clean_text(value) }},
                               '[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]{1,3}')
            then try_cast(try_cast({{ clean_text(value) }} as double) as decimal(18, 4))
    end
{%- endmacro %}


{#
    max_line_amount(): the largest unit price, discount, unit cost or line amount (quantity x
    price or cost) a transaction line may have: 1,000,000,000 (one billion). Larger values
    are typos (a barcode typed into quantity) and would overflow sums in decimal(18, 4).
#}
{% macro max_line_amount() -%}
    1000000000
{%- endmacro %}


{#
    is_out_of_range(value, limit, parsed=none): the raw value is a number (plain or
    scientific notation) whose size is above `limit`, or too large to be read at all.
    Staging quarantines such a line as `amount_out_of_range` before its amounts could
    overflow a sum or a test. `parsed` (optional) is the value parse_decimal or
    parse_integer made of it: when that is not null the value is a number, so the regular
    expression is skipped (the size is still judged on the unrounded value), and when it is
    within limit - 1 of zero the answer is no without reading the text again (rounding to 4 decimals
    moves a value by less than 0.0001; at 10M lines this skips 50M casts to double).
#}
{% macro is_out_of_range(value, limit, parsed=none) -%}
    {%- if target is defined and target.type != 'duckdb' %}{{ return(adapter.dispatch('is_out_of_range', 'retail_tiers')(value, limit)) }}{% endif %}
    {%- if parsed is not none %}
    case when {{ parsed }} between -({{ limit }} - 1) and {{ limit }} - 1 then false else
    {%- endif %}
    ((
        {%- if parsed is not none %}({{ parsed }}) is not null or {% endif -%}
        regexp_full_match({{ clean_text(value) }},
                          '[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?'))
     and coalesce(abs(try_cast({{ clean_text(value) }} as double)) > {{ limit }}, true))
    {%- if parsed is not none %} end{% endif %}
{%- endmacro %}


{# parse_boolean: true/false, t/f, yes/no, y/n, 1/0 (any case). #}
{% macro parse_boolean(value) -%}
    case lower({{ clean_text(value) }})
        when 'true' then true when 't' then true when 'yes' then true
        when 'y' then true when '1' then true
        when 'false' then false when 'f' then false when 'no' then false
        when 'n' then false when '0' then false
    end
{%- endmacro %}


{#
    is_unparseable(value, parsed): the raw value is present but did not parse.
    Empty values are not "unparseable"; whether they are allowed is the model's rule.
#}
{% macro is_unparseable(value, parsed) -%}
    ({{ clean_text(value) }} is not null and ({{ parsed }}) is null)
{%- endmacro %}
