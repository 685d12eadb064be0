'use strict';
module.exports = {
  up: async (queryInterface) => {
    await queryInterface.bulkInsert('Users', [
      { id: '11111111-1111-4111-8111-111111111111', email: 'a@x.io', username: "o'neil",
        createdAt: new Date('2024-01-02T03:04:05Z'), updatedAt: new Date('2024-01-02T03:04:05Z') },
      { id: '22222222-2222-4222-8222-222222222222', email: 'b@x.io', username: null,
        createdAt: new Date(0), updatedAt: new Date(0) }
    ]);
  },
  down: async (queryInterface) => {
    await queryInterface.bulkDelete('Users', { email: ['a@x.io', 'b@x.io'] });
  }
};
