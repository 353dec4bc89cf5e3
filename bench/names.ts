/**
 * Names and emails for the seeded users, deterministic per position. A column where
 * every value is "Bench User <n>" shares its trigrams and its prefix across all rows,
 * which no real user table does and which decides what a trigram search costs; these
 * are spread like real ones: a few thousand distinct full names, each shared by many
 * users, and emails made of the name, a number and one of a few common domains.
 */
const GIVEN_NAMES = [
  'Ada', 'Adrian', 'Aisha', 'Alan', 'Alba', 'Alice', 'Amara', 'Amir', 'Ana', 'Andrei', 'Anna', 'Arjun', 'Astrid', 'Ben',
  'Bianca', 'Bruno', 'Camila', 'Carlos', 'Chen', 'Chloe', 'Clara', 'Daniel', 'David', 'Diego', 'Elena', 'Elif', 'Emil',
  'Emma', 'Erik', 'Fatima', 'Felix', 'Freya', 'Gabriel', 'Grace', 'Hana', 'Hannah', 'Hugo', 'Ines', 'Ivan', 'Jack',
  'James', 'Jin', 'Jonas', 'Julia', 'Kai', 'Kenji', 'Lara', 'Leila', 'Leo', 'Liam', 'Lucas', 'Lucia', 'Luis', 'Maja',
  'Marco', 'Maria', 'Mateo', 'Maya', 'Mei', 'Mia', 'Mohammed', 'Nadia', 'Noah', 'Nora', 'Olga', 'Omar', 'Oscar',
  'Paula', 'Pedro', 'Priya', 'Rafael', 'Ravi', 'Rosa', 'Sara', 'Sofia', 'Sven', 'Tariq', 'Theo', 'Tomas', 'Valentina',
  'Victor', 'Wei', 'Yara', 'Yuki', 'Zainab', 'Zoe'
]
const FAMILY_NAMES = [
  'Abbott', 'Adeyemi', 'Almeida', 'Andersen', 'Bauer', 'Becker', 'Bianchi', 'Brown', 'Campbell', 'Castro', 'Chen',
  'Costa', 'Cruz', 'Dubois', 'Eriksson', 'Fernandez', 'Fischer', 'Garcia', 'Gonzalez', 'Gupta', 'Hansen', 'Hoffmann',
  'Horvat', 'Ibrahim', 'Ito', 'Jansen', 'Johansson', 'Jones', 'Kaya', 'Kim', 'Kowalski', 'Kumar', 'Larsen', 'Lee',
  'Lopez', 'Lovelace', 'Martin', 'Meyer', 'Moreau', 'Morris', 'Muller', 'Murphy', 'Nakamura', 'Nguyen', 'Novak',
  'Okafor', 'Olsen', 'Park', 'Patel', 'Pereira', 'Petrov', 'Popescu', 'Quinn', 'Reyes', 'Rossi', 'Sato', 'Schmidt',
  'Silva', 'Singh', 'Smith', 'Sousa', 'Suzuki', 'Tanaka', 'Taylor', 'Thompson', 'Torres', 'Vargas', 'Virtanen',
  'Wagner', 'Walker', 'Wang', 'Weber', 'Williams', 'Wilson', 'Wong', 'Yamamoto', 'Yilmaz', 'Zhang', 'Zimmermann'
]
const EMAIL_DOMAINS = ['example.com', 'example.com', 'example.com', 'example.org', 'example.org', 'example.net', 'mail.example', 'users.example']

/** A well-mixed 32-bit hash of the position (murmur3's finalizer), so neighbours differ. */
function mix (position: number, salt: number): number {
  let hash = (position ^ salt) >>> 0
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b)
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35)
  return (hash ^ (hash >>> 16)) >>> 0
}

const pick = <T>(values: readonly T[], position: number, salt: number): T => values[mix(position, salt) % values.length]!

/** The seeded user at a position: e.g. "Ada Lovelace", ada.lovelace4242@example.com; the number keeps emails unique. */
export function seededPerson (position: number): { name: string, email: string } {
  const given = pick(GIVEN_NAMES, position, 0x9e3779b9)
  const family = pick(FAMILY_NAMES, position, 0x7f4a7c15)
  return { name: `${given} ${family}`, email: `${given}.${family}${position}@${pick(EMAIL_DOMAINS, position, 0x165667b1)}`.toLowerCase() }
}
