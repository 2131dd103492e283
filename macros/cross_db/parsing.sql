{#
    The parsing rules of macros/parsing.sql on Spark: the same values parse to the same
    results (tests/test_spark_parity.py compares both engines on every raw value of the demo
    and on hand-written edge cases). Spark's own cast is laxer than DuckDB's (it reads `2024`
    as 2024-01-01), so each rule first checks the shape of the text.
#}

{#
    spark__parse_timestamp: ISO 8601 date or date-time, `YYYY/MM/DD[ HH:MM[:SS]]`, `YYYYMMDD`,
    12-hour clocks, and UTC offsets converted to `time_zone`; impossible dates are null.
#}
{% macro spark__parse_timestamp(value, time_zone='Asia/Shanghai') -%}
    {%- set text = clean_text(value) -%}
    {%- set iso = "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]*)?)?)?" -%}
    {%- set iso_time = "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]*)?)?" -%}
    case
        when not (left({{ text }}, 1) between '0' and '9') then null
        when {{ text }} rlike r'[0-9]\s*[AaPp]\.?[Mm]\.?$' then coalesce(
            {%- for format in ['yyyy-MM-dd h:mm:ss a', 'yyyy-MM-dd h:mm a', "yyyy-MM-dd'T'h:mm:ss a",
                               "yyyy-MM-dd'T'h:mm a", 'yyyy/M/d h:mm:ss a', 'yyyy/M/d h:mm a'] %}
            try_to_timestamp(
                regexp_replace(upper(replace({{ text }}, '.', '')), r'\s*([AP]M)$', ' $1'),
                "{{ format }}"
            ){{ "," if not loop.last }}
            {%- endfor %}
        )
        when {{ text }} rlike r'^{{ iso_time }}\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$'
            then from_utc_timestamp(
                try_cast(
                    regexp_replace(
                        regexp_replace({{ text }}, r'\s*([+-][0-9]{2})$', '$1:00'),
                        r'\s*([+-][0-9]{2}):?([0-9]{2})$', '$1:$2'
                    ) as timestamp
                ),
                '{{ time_zone }}'
            )
        when {{ text }} rlike r'^{{ iso }}$' then try_cast({{ text }} as timestamp)
        when contains({{ text }}, '/') then coalesce(
            try_to_timestamp({{ text }}, 'yyyy/M/d H:mm:ss'),
            try_to_timestamp({{ text }}, 'yyyy/M/d H:mm'),
            try_to_timestamp({{ text }}, 'yyyy/M/d')
        )
        when {{ text }} rlike r'^[0-9]{8}$' then try_to_timestamp({{ text }}, 'yyyyMMdd')
    end
{%- endmacro %}


{% macro spark__parse_integer(value) -%}
    case
        when {{ clean_text(value) }} rlike r'^[+-]?[0-9]+(\.0*)?$'
            then try_cast(try_cast({{ clean_text(value) }} as decimal(38, 0)) as bigint)
    end
{%- endmacro %}


{% macro spark__parse_decimal(value) -%}
    case
        when {{ clean_text(value) }} rlike r'^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$'
            then try_cast({{ clean_text(value) }} as decimal(18, 4))
        when {{ clean_text(value) }} rlike r'^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]{1,3}$'
            then try_cast(try_cast({{ clean_text(value) }} as double) as decimal(18, 4))
    end
{%- endmacro %}


{% macro spark__is_out_of_range(value, limit) -%}
    ({{ clean_text(value) }} rlike r'^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$'
     and coalesce(abs(try_cast({{ clean_text(value) }} as double)) > {{ limit }}, true))
{%- endmacro %}
