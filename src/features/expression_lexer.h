#pragma once
// Lexer of the expression language: text to tokens, with 1-based columns
// counted in UTF-8 code points. Stateless; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kiln::features {

enum class TokenKind { kInteger, kFloat, kString, kIdentifier, kQuotedIdentifier, kSymbol, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  int column = 0;
  std::string text;    // symbol, identifier, string value or number
  std::string source;  // as written, for messages
};

// Errors: "at column 5: unterminated string (missing closing ')".
Result<std::vector<Token>> LexExpression(std::string_view text);

// "at column N: message", the form of every compile error.
Status ErrorAtColumn(int column, std::string message);

// ASCII case-insensitive; `lower` must be lower case.
bool EqualsIgnoreCase(std::string_view text, std::string_view lower);
// Keywords that cannot be bare names: and or not is null in case when then
// else end true false (any case).
bool IsReserved(std::string_view word);

}  // namespace kiln::features
