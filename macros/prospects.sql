{#
    is_prospect(signed_up_on, first_purchase_on, as_of): a registered customer (a clean row of
    the customers file) who has signed up on or before `as_of` (an unknown sign-up date counts
    as signed up) and has no purchase on or before `as_of` (first_purchase_on null or later).
    "As of E" means the end of day E, so a customer who signs up and buys on one day is never a
    prospect at a day's end, and one whose first purchase precedes the sign-up never is either.
#}
{% macro is_prospect(signed_up_on, first_purchase_on, as_of) -%}
    (
        ({{ signed_up_on }} is null or {{ signed_up_on }} <= {{ as_of }})
        and ({{ first_purchase_on }} is null or {{ first_purchase_on }} > {{ as_of }})
    )
{%- endmacro %}
