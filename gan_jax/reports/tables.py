"""Markdown tables, one function."""


def markdown(header: list, rows: list) -> list:
  """Lines of a markdown table: the header, the rule and each row (cells str()-ed)."""
  lines = ['| ' + ' | '.join(map(str, header)) + ' |', '|' + '---|' * len(header)]
  return lines + ['| ' + ' | '.join(map(str, row)) + ' |' for row in rows]
