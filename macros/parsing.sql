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
    parse_timestamp: ISO 8601 (`2024-03-01`, `2024-03-01T09:30:00`, `2024-03-01 09:30`,
    fractional seconds; a trailing `Z` or UTC offset is dropped and the wall-clock time kept),
    `YYYY/MM/DD[ HH:MM[:SS]]` and `YYYYMMDD`. Impossible dates (2023-02-29) are null.
    A value must start with a digit: that keeps DuckDB's special values out (`epoch`,
    `infinity`, `-infinity` would otherwise cast to 1970-01-01, 9999-12-31, 0001-01-01).
    Cost: the plain cast takes most values; only the rest go to strptime, which is slow
    (microseconds per value and format tried), so a value gets only the formats that can
    match it: the slash formats when it has a slash, else `YYYYMMDD` (which has none).
#}
{% macro parse_timestamp(value) -%}
    case
        when left({{ clean_text(value) }}, 1) between '0' and '9' then coalesce(
            try_cast({{ clean_text(value) }} as timestamp),
            case
                when contains({{ clean_text(value) }}, '/') then try_strptime(
                    {{ clean_text(value) }}, ['%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y/%m/%d']
                )
                else try_strptime({{ clean_text(value) }}, '%Y%m%d')
            end
        )
    end
{%- endmacro %}


{# parse_integer: an optional sign and digits (`3`, `-1`, `2.0` is accepted, `2.5` is not). #}
{% macro parse_integer(value) -%}
    case
        when regexp_full_match({{ clean_text(value) }}, '[+-]?[0-9]+(\.0*)?')
            then try_cast({{ clean_text(value) }} as bigint)
    end
{%- endmacro %}


{# parse_decimal: plain decimal notation (`12`, `-3.50`, `.5`); no currency signs, no commas. #}
{% macro parse_decimal(value) -%}
    case
        when regexp_full_match({{ clean_text(value) }}, '[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)')
            then try_cast({{ clean_text(value) }} as decimal(18, 4))
    end
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
