// The polc policy language. See docs/language.md for the semantics.
//
// Lexing notes (ANTLR picks the longest match; on a tie, the rule listed first):
//  - Keywords are listed before IDENT, so `allow` is ALLOW but `allowed` is IDENT.
//  - PORT_SPEC (`tcp/80`, `tcp/8000-8999`, `tcp/http`) is listed before IDENT,
//    which would match the same text; `tcp` alone is the keyword TCP.
//  - CIDR_PREFIX is any word that looks like an address: digits with dots
//    (`10.0.0.0/8`, `192.168.1.5`) or hex digits with a colon (`fd00::/64`).
//    It is deliberately loose: the parser validates it with parsePrefix, which
//    gives a better message than a lexer error would.
//  - Comments go to the hidden channel (not skipped) so that fmt keeps them.
// polc lexes with compiler/src/frontend/lexer.cpp, which implements these
// lexer rules, and parses a file without syntax errors with direct_parser.cpp
// beside it, which implements the parser rules; ANTLR's parser runs only to
// explain syntax errors, and for polc fmt (ANTLR's C++ runtime is several
// times slower at both). Their tests compare them with ANTLR's lexer and
// parser, so a change here fails them until the two files follow; lexer.cpp
// takes the literal rules (keywords, operators) from here.
grammar Policy;

file        : item* EOF ;
item        : includeDecl | letDecl | defaultDecl | policyDecl ;

includeDecl : INCLUDE path=STRING ;
letDecl     : LET name=IDENT '=' selector ;
defaultDecl : DEFAULT DENY direction (',' direction)* (FOR selector)? ;
// `audit policy`: judged and reported, not enforced (docs/language.md).
policyDecl  : AUDIT? POLICY name=STRING '{' selectClause directionBlock* '}' ;
selectClause: SELECT selector ;
directionBlock
            : direction '{' ruleDecl* '}' ;
direction   : INGRESS | EGRESS ;
ruleDecl    : verdict=(ALLOW | DENY) peerDirection=(FROM | TO) peer portList? ;

peer        : SERVICE name=STRING                               # servicePeer
            | GROUP name=STRING                                 # groupPeer
            | ENTITY entityName                                 # entityPeer
            | CIDR prefixes=cidrList (EXCEPT except=cidrList)?  # cidrPeer
            | selector                                          # selectorPeer
            ;
cidrList    : CIDR_PREFIX (',' CIDR_PREFIX)* ;
// Entities are checked by the AST builder, for a did-you-mean on a typo.
entityName  : IDENT | ANY ;

portList    : ON portSpec (',' portSpec)* ;
portSpec    : PORT_SPEC                                         # portNumberSpec
            | protocol=(TCP | UDP | SCTP)                       # wholeProtocolSpec
            | protocol=(ICMP | ICMPV6) (TYPE icmpType=INT (CODE icmpCode=INT)?)? # icmpSpec
            ;

// Alternatives are listed from the tightest binding to the loosest.
selector    : '!' selector                                      # notSelector
            | selector '&&' selector                            # andSelector
            | selector '||' selector                            # orSelector
            | '(' selector ')'                                  # parenSelector
            | ANY                                               # anySelector
            | HAS '(' labelKey ')'                              # hasSelector
            | labelKey op=('==' | '!=') STRING                  # compareSelector
            | labelKey op=(IN | NOTIN) '(' STRING (',' STRING)* ')' # setSelector
            | IDENT                                             # letReference
            ;
// Keywords that are plausible label names stay usable as keys: a key is
// always followed by an operator, which tells it apart from the keyword's
// own use (`service "db"` versus `service == "db"`). Structural keywords
// (select, allow, from, in, ...) are left out: as keys they would make the
// parser's messages about a missing selector much worse.
labelKey    : IDENT | SERVICE | GROUP | ENTITY | CIDR | EXCEPT | TYPE | CODE
            | TCP | UDP | SCTP | ICMP | ICMPV6 | DEFAULT | INCLUDE | AUDIT | POLICY | FOR ;

INCLUDE : 'include' ;
LET     : 'let' ;
DEFAULT : 'default' ;
FOR     : 'for' ;
AUDIT   : 'audit' ;
POLICY  : 'policy' ;
SELECT  : 'select' ;
INGRESS : 'ingress' ;
EGRESS  : 'egress' ;
ALLOW   : 'allow' ;
DENY    : 'deny' ;
FROM    : 'from' ;
TO      : 'to' ;
ON      : 'on' ;
ANY     : 'any' ;
HAS     : 'has' ;
IN      : 'in' ;
NOTIN   : 'notin' ;
SERVICE : 'service' ;
GROUP   : 'group' ;
ENTITY  : 'entity' ;
CIDR    : 'cidr' ;
EXCEPT  : 'except' ;
TCP     : 'tcp' ;
UDP     : 'udp' ;
SCTP    : 'sctp' ;
ICMP    : 'icmp' ;
ICMPV6  : 'icmpv6' ;
TYPE    : 'type' ;
CODE    : 'code' ;

NOT     : '!' ;
AND     : '&&' ;
OR      : '||' ;
EQ      : '==' ;
NE      : '!=' ;
ASSIGN  : '=' ;
LPAREN  : '(' ;
RPAREN  : ')' ;
LBRACE  : '{' ;
RBRACE  : '}' ;
COMMA   : ',' ;

// tcp/80, tcp/8000-8999, tcp/http. The part after '/' is checked by the
// parser (number, range or lowercase port name); `tcp/` alone is a token too,
// so that the message can say what is missing.
PORT_SPEC : ('tcp' | 'udp' | 'sctp') '/' [a-zA-Z0-9\-]* ;

CIDR_PREFIX
        : [0-9]+ ('.' [0-9]+)+ ('/' [0-9]*)?          // 10.0.0.0/8, 192.168.1.5
        | [0-9]+ '/' [0-9]*                          // 10/8: refused by parsePrefix
        | [0-9a-fA-F]* ':' [0-9a-fA-F:.]* ('/' [0-9]*)? // fd00::/64, ::1, ::ffff:1.2.3.4
        ;
INT     : [0-9]+ ;

// Label keys and let names. Kubernetes-style keys contain '.', '/' and '-'
// (app.kubernetes.io/name); a '/' must be followed by a key character, so
// `a//b` is not one word and `//` still starts a comment after a word.
IDENT   : [a-zA-Z_] ([a-zA-Z0-9_.\-] | '/' [a-zA-Z0-9_.\-])* ;
// Any escaped character lexes; the parser accepts only \" and \\.
STRING  : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
// A string that does not close on its line; the parser reports it as such.
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;

COMMENT : ('#' | '//') ~[\r\n]* -> channel(HIDDEN) ;
WS      : [ \t\r\n]+ -> skip ;
// Anything else is one bad character; the parser reports it with its position.
BAD_CHAR: . ;
