{#- Generic test: every row satisfies the expression. -#}
{% test gp_expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
